"""Region signing keys: private key files at a region, the public keys' register ``egov.keys`` at the centre."""

from bus.keys.exceptions import KeyFileError, KeysError
from bus.keys.files import key_file_name, load_signing_key, load_signing_keys, write_signing_key

__all__ = ["KeysError", "KeyFileError", "key_file_name", "load_signing_key", "load_signing_keys", "write_signing_key"]
