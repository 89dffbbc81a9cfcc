"""helm/egov-bus/files/users.yaml is the ACL policy's Strimzi export in template form, exactly.

``make chart-sync`` regenerates it (``egov-bus catalog strimzi-users --templates``).
"""

from __future__ import annotations

import difflib

from tests.helm.chart import USERS_FILE
from topics.acls import load_acl_policy
from topics.exports import strimzi_user_templates_yaml


def test_users_file_is_the_current_export_of_the_acl_policy():
    expected = strimzi_user_templates_yaml(load_acl_policy(), cluster="egov")
    actual = USERS_FILE.read_text()
    diff = "".join(difflib.unified_diff(
        actual.splitlines(keepends=True), expected.splitlines(keepends=True), "files/users.yaml", "topics/acls.yaml", n=1
    ))
    assert actual == expected, (
        f"{USERS_FILE} is out of date with topics/acls.yaml (or the catalogue); regenerate it with\n"
        f"  make chart-sync   (egov-bus catalog strimzi-users --templates -o {USERS_FILE})\n{diff[:4000]}"
    )
