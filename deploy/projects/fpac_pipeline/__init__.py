"""The fpac farm-program pipeline: three Lambdas, three PySpark Glue jobs, a crawler and a Step Functions workflow."""
