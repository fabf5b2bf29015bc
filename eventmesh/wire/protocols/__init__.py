"""Wire protocols, each turning requests into the botocore model's JSON shape and back."""
