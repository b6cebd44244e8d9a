def handler(event, context):
    return {"total": 1200}
