def handler(event, context):
    context_ = event["requestContext"]
    print(f"bye {context_['connectionId']} stage {context_['stage']}")
    return {"statusCode": 200}
