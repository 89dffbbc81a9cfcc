"""The centre's tamper-evident audit log ``egov.audit.log``: the chain (:mod:`.chain`), the worker's
writer (:mod:`.log`), the auditor's verifier (:mod:`.verify`) and receipts (:mod:`.receipt`)."""
