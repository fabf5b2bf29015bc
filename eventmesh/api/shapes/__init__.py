"""Wire-name data the botocore models leave out (e.g. SQS's legacy Query names)."""
