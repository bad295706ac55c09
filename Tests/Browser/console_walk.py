#!/usr/bin/env python3
"""A new user's walk through agentbox's web console in a real headless Chromium (selenium), with the checks of
its security: stored <script> renders as text, a form without its CSRF token is refused, a second user sees none
of the first one's objects, a bad form keeps what was typed and shows the error next to the field, and no secret
is ever rendered back. Run by ApplianceTests/ConsoleBrowserTests; prints one line per step and `walk: ok` at the end.

usage: console_walk.py BASE_URL ADMIN_TOKEN SECOND_USER_TOKEN TOOL_IMAGE SCREENSHOT_FOLDER
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE, ADMIN_TOKEN, BOB_TOKEN, IMAGE, SHOTS = sys.argv[1:6]
CANARY = "canary-console-secret-7f3a"
XSS = "<script>window.__xss = 1</script>"


def step(message):
    print(f"walk: {message}", flush=True)


def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--disable-gpu"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)


def wait(driver, condition, seconds=20):
    return WebDriverWait(driver, seconds).until(condition)


def no_secrets(driver, where):
    source = driver.page_source
    assert CANARY not in source, f"the credential's secret was rendered in {where}"
    assert ADMIN_TOKEN not in source and BOB_TOKEN not in source, f"a user token was rendered in {where}"


def sign_in(driver, token):
    driver.get(BASE + "/console")
    wait(driver, expected_conditions.presence_of_element_located((By.ID, "token")))
    assert "token=" not in driver.current_url
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form[action='/console/sign-in'] button").click()
    wait(driver, expected_conditions.url_contains("/console/dashboard"))
    assert token not in driver.current_url, "the token must never be in a URL"


def submit(driver, action):
    """Submits the form that posts to `action` and waits until the next page has loaded (the old page's window
    marker is gone); errors while the old page is torn down only mean it is still going."""
    driver.execute_script("window.__walkMarker = true")
    driver.find_element(By.CSS_SELECTOR, f"form[action='{action}'] button[type=submit]").click()
    WebDriverWait(driver, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.__walkMarker === undefined && document.readyState === 'complete'"))


def post_without_csrf(driver, path, fields):
    """The same browser's cookies, a form without its CSRF token: the status the server answers."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    data = "&".join(f"{k}={urllib.request.quote(v)}" for k, v in fields.items()).encode()
    request = urllib.request.Request(BASE + path, data=data, method="POST",
                                     headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def main():
    os.makedirs(SHOTS, exist_ok=True)
    admin = browser()
    try:
        sign_in(admin, ADMIN_TOKEN)
        cookies = {c["name"]: c for c in admin.get_cookies()}
        session = cookies["agentbox_console"]
        assert session["httpOnly"] and session.get("sameSite") == "Strict", f"session cookie flags: {session}"
        assert admin.execute_script("return document.cookie").find("agentbox_console=") < 0, "scripts must not read the session cookie"
        step("signed in; the session cookie is HttpOnly and SameSite=Strict")

        # A bad catalog form: the error is next to the field and what was typed stays.
        admin.get(BASE + "/console/catalog")
        admin.find_element(By.ID, "name").send_keys("echo-tool")
        admin.find_element(By.ID, "description").send_keys(XSS)
        admin.find_element(By.ID, "docker_image_url").send_keys(IMAGE)
        admin.find_element(By.ID, "version").send_keys("1")
        admin.find_element(By.ID, "required_capabilities_schema").send_keys('{"echo": "Echo the input", ')
        submit(admin, "/console/catalog")
        error = admin.find_element(By.ID, "required_capabilities_schema-error").text
        assert "not valid JSON" in error, error
        assert admin.find_element(By.ID, "required_capabilities_schema").get_attribute("aria-invalid") == "true"
        assert admin.find_element(By.ID, "name").get_attribute("value") == "echo-tool"
        assert admin.find_element(By.ID, "description").get_attribute("value") == XSS
        step("a bad form shows the error next to its field and keeps what was typed")

        capabilities = admin.find_element(By.ID, "required_capabilities_schema")
        capabilities.clear()
        capabilities.send_keys('{"echo": "Echo the input", "send": "Send a message"}')
        secrets = admin.find_element(By.ID, "required_secrets_schema")
        secrets.clear()
        secrets.send_keys('{"type": "object", "required": ["api_key"], "properties": {"api_key": {"type": "string"}}}')
        submit(admin, "/console/catalog")
        wait(admin, expected_conditions.url_to_be(BASE + "/console/catalog"))
        assert XSS in admin.find_element(By.TAG_NAME, "tbody").text, "the stored <script> is shown as text"
        assert admin.execute_script("return window.__xss") is None, "the stored <script> must not run"
        step("a tool whose description holds a <script> was added; it renders as text and does not run")

        # Editing it: a bad port is refused next to its field, with the typed value kept; a good edit is saved.
        admin.find_element(By.LINK_TEXT, "echo-tool").click()
        wait(admin, expected_conditions.presence_of_element_located((By.ID, "container_port")))
        edit_path = admin.current_url.replace(BASE, "")
        port = admin.find_element(By.ID, "container_port")
        port.clear()
        port.send_keys("70000")
        submit(admin, edit_path)
        assert "container_port" in admin.find_element(By.ID, "container_port-error").text
        assert admin.find_element(By.ID, "container_port").get_attribute("value") == "70000"
        port = admin.find_element(By.ID, "container_port")
        port.clear()
        port.send_keys("8080")
        admin.find_element(By.ID, "version").clear()
        admin.find_element(By.ID, "version").send_keys("1")
        submit(admin, edit_path)
        wait(admin, expected_conditions.url_to_be(BASE + "/console/catalog"))
        step("an edit with a bad port showed the error next to the field; the fixed edit was saved")

        # The local toolbox, then a deployment watched live (no reload).
        admin.get(BASE + "/console/toolboxes")
        admin.find_element(By.ID, "name").send_keys("home")
        Select(admin.find_element(By.ID, "provider")).select_by_value("local")
        submit(admin, "/console/toolboxes")
        wait(admin, expected_conditions.url_contains("/console/toolboxes/"))
        toolbox_url = admin.current_url
        Select(admin.find_element(By.ID, "tool")).select_by_visible_text("echo-tool 1")
        admin.find_element(By.ID, "instance-name").send_keys("echo1")
        submit(admin, admin.current_url.replace(BASE, "") + "/instances")
        wait(admin, expected_conditions.url_contains("/console/instances/"))
        instance_url = admin.current_url
        status = admin.find_element(By.CSS_SELECTOR, "[data-live='instance-status']")
        try:
            wait(admin, lambda _: status.text == "running", seconds=90)
        except TimeoutException:
            raise AssertionError(f"the instance did not show running without a reload: {status.text}; {admin.page_source[-1500:]}")
        assert admin.current_url == instance_url
        step("the local toolbox was created and the tool deployed; the page turned running by itself")

        # An agent with a token shown once, access, the instance on its toolbelt.
        admin.get(BASE + "/console/agents")
        admin.find_element(By.ID, "name").send_keys("scout")
        submit(admin, "/console/agents")
        wait(admin, expected_conditions.url_contains("/console/agents/"))
        agent_url = admin.current_url
        agent_path = agent_url.replace(BASE, "")
        submit(admin, agent_path + "/tokens")
        token = admin.find_element(By.ID, "new-token").text
        assert token.startswith("abx_a_"), token
        admin.get(agent_url)
        assert token not in admin.page_source, "an agent token is shown once only"
        Select(admin.find_element(By.ID, "toolbox")).select_by_visible_text("home")
        submit(admin, agent_path + "/access")
        Select(admin.find_element(By.ID, "instance")).select_by_visible_text("echo1 on home")
        submit(admin, agent_path + "/items")
        wait(admin, expected_conditions.url_contains("/console/toolbelt/"))
        item_path = admin.current_url.replace(BASE, "")
        step("an agent was created, its token shown once, and the instance put on its toolbelt")

        # One capability allowed, a credential stored through the form made from the secrets schema.
        admin.find_element(By.CSS_SELECTOR, "input[name=allow][value=echo]").click()
        submit(admin, item_path + "/permissions")
        assert admin.find_element(By.CSS_SELECTOR, "input[name=allow][value=echo]").is_selected()
        assert not admin.find_element(By.CSS_SELECTOR, "input[name=allow][value=send]").is_selected()
        admin.find_element(By.ID, "account_identifier").send_keys("ada@example.com")
        admin.find_element(By.ID, "secret-api_key").send_keys(CANARY)
        submit(admin, item_path + "/credentials")
        wait(admin, expected_conditions.url_to_be(BASE + item_path))
        credentials = admin.find_element(By.CSS_SELECTOR, "main ul").text
        assert "api_key" in credentials and "***" in credentials and "active" in credentials, credentials
        no_secrets(admin, "the toolbelt page")
        admin.save_screenshot(os.path.join(SHOTS, "toolbelt.png"))
        step("echo allowed, send denied; the credential stored and shown masked only")

        assert post_without_csrf(admin, "/console/agents", {"name": "forged"}) == 403
        assert post_without_csrf(admin, item_path + "/permissions", {"allow": "send"}) == 403
        admin.get(BASE + item_path)
        assert not admin.find_element(By.CSS_SELECTOR, "input[name=allow][value=send]").is_selected()
        step("forms posted without their CSRF token were refused (403) and changed nothing")

        admin.get(BASE + "/console/audit?action=credential.")
        actions = [row.find_elements(By.TAG_NAME, "td")[2].text for row in admin.find_elements(By.CSS_SELECTOR, "tbody tr")]
        assert actions and all(action.startswith("credential.") for action in actions), actions
        step("the audit log filters by action")

        admin.get(BASE + "/console/dashboard")
        assert "home" in admin.find_element(By.ID, "main").text
        for path in ("/console/dashboard", "/console/toolboxes", "/console/catalog", "/console/audit", agent_path, instance_url.replace(BASE, "")):
            admin.get(BASE + path)
            no_secrets(admin, path)
        admin.get(BASE + "/console/dashboard")
        admin.save_screenshot(os.path.join(SHOTS, "dashboard.png"))
        admin.set_window_size(390, 844)
        admin.save_screenshot(os.path.join(SHOTS, "dashboard-phone.png"))
        step("no page rendered a secret or a token; screenshots saved")

        # A second user sees none of it.
        bob = browser()
        try:
            sign_in(bob, BOB_TOKEN)
            assert "home" not in bob.find_element(By.ID, "main").text
            for url in (toolbox_url, instance_url, agent_url, BASE + item_path):
                bob.get(url)
                assert "home" not in bob.page_source and "scout" not in bob.page_source, f"{url} leaked to the second user"
            bob.get(BASE + "/console/agents")
            assert "scout" not in bob.find_element(By.ID, "main").text
            step("a second user sees none of the first user's objects")
        finally:
            bob.quit()

        admin.set_window_size(1280, 1000)
        admin.get(BASE + "/console/dashboard")
        submit(admin, "/console/sign-out")
        wait(admin, expected_conditions.url_contains("/console/sign-in"))
        admin.get(BASE + "/console/dashboard")
        assert "/console/sign-in" in admin.current_url
        step("signed out")
    finally:
        admin.quit()
    print(json.dumps({"toolbox": toolbox_url.rsplit("/", 1)[-1]}))
    print("walk: ok")


if __name__ == "__main__":
    main()
