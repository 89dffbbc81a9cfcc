"""The fault suite (issue 15): real processes on a 3-broker cluster, nothing accepted lost or counted twice."""
