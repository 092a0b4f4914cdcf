def test_seed_register_login_me_refresh_logout(api, register, db):
    r = register()
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    r = api.post("/api/v1/auth/login", {"email": "alice@example.com",
                 "password": "correct horse battery staple"}, format="json")
    assert r.status_code == 200, r.content
    access, refresh = r.json()["access_token"], r.json()["refresh_token"]
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert me.status_code == 200, me.content
    assert me.json()["email"] == "alice@example.com"
    r = api.post("/api/v1/auth/refresh", {"refresh_token": refresh}, format="json")
    assert r.status_code == 200, r.content
    new_access = r.json()["access_token"]
    r = api.post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {new_access}")
    assert r.status_code == 200, r.content
    me = api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {new_access}")
    assert me.status_code == 401
    assert me.json()["error_code"] == "token_invalid"
    assert "WWW-Authenticate" in me
