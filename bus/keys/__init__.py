"""Region signing keys: private key files at a region, the public keys' register ``egov.keys`` at the centre."""

from bus.keys.exceptions import KeyFileError, KeyRegisterError, KeysError
from bus.keys.files import key_file_name, load_signing_key, load_signing_keys, write_signing_key
from bus.keys.register import KeyRegister, Rotation
from bus.keys.ring import FollowingKeyRing, KeyRing, key_state

__all__ = ["KeysError", "KeyFileError", "KeyRegisterError", "key_file_name", "load_signing_key", "load_signing_keys",
           "write_signing_key", "KeyRegister", "Rotation", "KeyRing", "FollowingKeyRing", "key_state"]
