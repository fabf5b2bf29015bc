import os


def handler(event, context):
    import boto3  # what the Lambda Python runtime gives every handler

    return {"stage": os.environ["STAGE"], "event": event, "function": context.function_name,
            "boto3": boto3.__name__}
