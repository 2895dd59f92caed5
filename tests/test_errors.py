from agentexec.errors import TooManyRequests, exception_handler


def test_too_many_requests_answers_429_with_retry_after_rounded_up():
    exc = TooManyRequests("slow down", type="rate_limited", retry_after_s=2.1)
    response = exception_handler(exc, {})
    assert response is not None
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    assert response.data == {
        "error": {"type": "rate_limited", "message": "slow down", "fields": {}}
    }


def test_a_quota_without_a_wait_answers_429_without_retry_after():
    response = exception_handler(TooManyRequests("monthly budget spent"), {})
    assert response is not None
    assert response.status_code == 429
    assert "Retry-After" not in response
    assert response.data["error"]["type"] == "quota_exceeded"
