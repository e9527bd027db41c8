def test_htmx_request_without_session_redirects_the_whole_page(client):
    response = client.get("/poll?ids=1", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")


def test_plain_request_without_session_gets_a_redirect(client):
    response = client.get("/gallery/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
