"""HITs: the image-grid design, planning batches into the warehouse, pricing, and publishing.

The crowd platform itself (MTurk through boto3, or the local endpoint) sits behind
`etl.crowd.platform.CrowdPlatform`, so nothing here depends on which platform runs the work.
"""
