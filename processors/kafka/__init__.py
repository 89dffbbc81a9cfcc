"""Thin typed wrappers over confluent-kafka for the processors' data path (librdkafka)."""
