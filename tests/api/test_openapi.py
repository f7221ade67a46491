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


def test_drift_uploads_document_json_and_csv_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/drift/{service}/reference", "/api/v1/drift/{service}/batches"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert set(content) == {"application/json", "text/csv", "multipart/form-data"}, path
        assert "columns" in content["application/json"]["schema"]["properties"], path
        assert content["multipart/form-data"]["schema"]["required"] == ["file"], path
        assert "$defs" not in str(content), path  # refs resolve inside the OpenAPI document
