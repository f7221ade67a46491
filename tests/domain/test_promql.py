import pytest

from slo_service.domain.promql import check_expression, check_selector


@pytest.mark.parametrize(
    "text",
    [
        "ml_predictions_total",
        'ml_predictions_total{model_name="churn",status!="error"}',
        "ml_predictions_total{model_name=~'churn|fraud', }",
        '{__name__="up", job="x"}',
        'requests_total{path="/a}b"}',
        'x{a="quote \\" inside"}',
        "job:requests:rate5m",
    ],
    ids=[
        "bare",
        "matchers",
        "regex-trailing-comma",
        "no-name",
        "brace-in-string",
        "escape",
        "recording",
    ],
)
def test_selectors_accepted(text: str) -> None:
    check_selector(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ('ml_predictions_total{status!="error"', "never closed"),
        ("rate(ml_predictions_total[5m])", "not a series selector"),
        ("ml_predictions_total{status}", "expected =, !=, =~ or !~"),
        ("ml_predictions_total{status=error}", "quoted string"),
        ('ml_predictions_total{a="1" b="2"}', "expected ','"),
        ("{}", "neither a metric name nor a label matcher"),
        ('x{a="1"} + y', "unexpected text"),
        ('x{a="1}', "never closed"),
    ],
    ids=[
        "empty",
        "unclosed",
        "function",
        "no-op",
        "unquoted",
        "no-comma",
        "empty-braces",
        "tail",
        "string",
    ],
)
def test_selectors_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_selector(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("   ", "empty"),
        ("sum(rate(x[5m])", "never closed"),
        ("sum(rate(x[5m)))", "unexpected ']'|unexpected '\\)'"),
        ("x)", "unexpected"),
        ('x{a="1}', "never closed"),
    ],
    ids=["blank", "unclosed-paren", "crossed", "stray-close", "open-string"],
)
def test_expressions_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_expression(text)


def test_expression_accepted() -> None:
    check_expression('time() - max(ml_feature_last_updated_timestamp_seconds{model_name="a(b"})')
