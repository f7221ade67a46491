"""The OpenAPI document describes every operation, its parameters and the bearer scheme."""

from fastapi.testclient import TestClient


def test_every_operation_and_path_parameter_is_described(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = [(path, op) for path, ops in spec["paths"].items() for op in ops.values()]
    assert len(operations) >= 10
    for path, operation in operations:
        assert operation.get("description"), f"{path} has no description"
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter.get("description"), f"{path}: {parameter['name']}"
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = spec["paths"]["/api/v1/slos"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
