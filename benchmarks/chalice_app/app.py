from chalice import Chalice

app = Chalice(app_name="yard")


@app.lambda_function()
def validate(event, context):
    return {"valid": True}


@app.lambda_function()
def create_new_id(event, context):
    return {"run_id": "x"}


@app.lambda_function()
def log_results(event, context):
    return {"ok": True}
