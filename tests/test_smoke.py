def test_login_page_answers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data
