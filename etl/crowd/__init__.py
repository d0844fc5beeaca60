"""Crowd platforms behind one interface (`platform.CrowdPlatform`): MTurk through boto3, and
`local_server`, an MTurk-compatible endpoint with simulated workers for tests and the demo."""
