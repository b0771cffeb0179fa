#!/usr/bin/env python3
"""Drives the web console of a running demo federation in headless Chromium over WebDriver
(selenium, the system chromedriver): logs in, submits a penalty in Xinyang through the API,
waits for it on Suzhou's subject page, repairs it and waits for the receipts, checks an XSS
payload stays inert, checks a query token cannot reach the admin page, and saves a screenshot
of every page under docs/console/. Usage: console_browser.py DEMO_DIR OUT_DIR"""
import json, sys, time, urllib.request, urllib.error

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import NoAlertPresentException

demo_dir, out = sys.argv[1], sys.argv[2]
demo = json.load(open(f"{demo_dir}/demo.json"))
city = {c["region"]: c for c in demo["cities"]}
xy, sz = city["xinyang"], city["suzhou"]

CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
def uscc(n):
    body = f"91411500MA{n:07d}"[:17]
    c = 31 - sum(CHARS.index(ch) * w for ch, w in zip(body, W)) % 31
    return body + CHARS[0 if c == 31 else c]

def api(c, method, path, token, body=None):
    req = urllib.request.Request(c["api"] + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-CN"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
d.set_page_load_timeout(30)
shots = []

def shot(name):
    h = d.execute_script("return Math.min(document.body.scrollHeight + 40, 4000)")
    d.set_window_size(1400, max(h, 700))
    d.save_screenshot(f"{out}/{name}.png")
    d.set_window_size(1400, 1000)
    shots.append(name)

def login(c, token, shoot=None):
    d.delete_all_cookies()
    d.get(c["api"] + "/console/login")
    if shoot:
        shot(shoot)
    d.find_element(By.NAME, "token").send_keys(token)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    for _ in range(100):
        if "login" not in d.current_url:
            break
        time.sleep(0.1)
    assert "/console/" in d.current_url and "login" not in d.current_url, d.current_url

def wait_for(url, needle, secs=30):
    t0 = time.time()
    while time.time() - t0 < secs:
        d.get(url)
        if needle(d.page_source):
            return time.time() - t0
        time.sleep(0.5)
    raise AssertionError(f"{url}: not seen within {secs}s")

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
subject = uscc(int(time.time()) % 9_000_000)
decision = f"信市监罚〔2025〕{int(time.time()) % 100000}号"
draft = {"kind": "administrative_penalty", "subject": {"uscc": subject}, "subject_name": "信阳某商贸有限公司" + XSS,
         "authority": "信阳市市场监督管理局", "decision_no": decision, "legal_basis": "《中华人民共和国食品安全法》第一百二十四条",
         "facts": "销售不符合食品安全标准的食品 " + XSS, "severity": "general", "sector": "market_regulation",
         "decided_on": "2025-01-05", "classification": "public"}

# 1. Log in at Suzhou (audit token); submit the penalty in Xinyang through the API.
login(sz, sz["tokens"]["audit"], shoot="01-login")
s, v = api(xy, "POST", "/v1/records", xy["tokens"]["submit"], draft)
assert s == 201, v
rid = v["id"]
t_seen = wait_for(f"{sz['api']}/console/subject?s={subject}", lambda p: decision in p)
print(f"penalty submitted at xinyang, on suzhou's subject page after {t_seen:.1f}s")
assert d.execute_script("return window.__xss") is None, "XSS payload ran"
try:
    d.switch_to.alert
    raise AssertionError("an alert opened")
except NoAlertPresentException:
    pass
assert "&lt;img src=x" in d.page_source or "<img src=x" not in d.find_element(By.TAG_NAME, "main").get_attribute("innerHTML")
assert not d.find_elements(By.CSS_SELECTOR, "main img"), "payload became an element"
shot("05-subject-suzhou")

# 2. Repair it in Xinyang; the receipts of the other cities arrive on Xinyang's record page.
s, v = api(xy, "POST", f"/v1/records/{rid}/repair", xy["tokens"]["submit"], {"repaired_on": time.strftime("%Y-%m-%d"), "basis": "已履行行政处罚决定"})
assert s == 201, v
login(xy, xy["tokens"]["audit"])
others = [c for c in demo["cities"] if c["region"] != "xinyang"]
t_rc = wait_for(f"{xy['api']}/console/records/{rid}", lambda p: "not yet confirmed" not in p and all(f"<td>{c['region']}</td>" in p for c in others) and "repaired" in p, 60)
print(f"repair receipts from {', '.join(c['region'] for c in others)} on xinyang's record page after {t_rc:.1f}s")
assert d.execute_script("return window.__xss") is None, "XSS payload ran on the record page"
shot("04-record-lineage")

# An objection on another penalty, for the repairs & objections page.
d2 = dict(draft, subject={"uscc": uscc((int(time.time()) + 1) % 9_000_000)}, decision_no=decision.replace("〕", "〕9"),
          decided_on=time.strftime("%Y-%m-%d"), subject_name="信阳某食品有限公司", facts="超范围经营")
s, v = api(xy, "POST", "/v1/records", xy["tokens"]["submit"], d2)
assert s == 201, v
s, v = api(xy, "POST", f"/v1/records/{v['id']}/objections", xy["tokens"]["submit"],
           {"ground": "inaccurate", "statement": "处罚金额有误", "filed_on": time.strftime("%Y-%m-%d")})
assert s == 201, v

# 3. Every page (audit token at Xinyang), then Admin with the admin token.
for name, path in [("02-federation", "/console/federation"), ("03-records", "/console/records"),
                   ("06-repairs-objections", "/console/work"), ("07-compliance", "/console/compliance"),
                   ("08-monthly-report", "/console/reports/compliance?month=" + time.strftime("%Y-%m")),
                   ("09-audit", f"/console/audit?record={rid}")]:
    d.get(xy["api"] + path)
    assert not d.title.startswith("credfed console — "), (path, d.title)  # the error page title
    if name.startswith("06"):
        assert "day(s) left" in d.page_source, "the objection's clock"
    shot(name)
assert "inclusion verified" in d.page_source or "not among the last" in d.page_source
login(xy, xy["tokens"]["admin"])
d.get(xy["api"] + "/console/admin")
assert "Trust anchors" in d.page_source
shot("10-admin")

# 4. A query token cannot reach the admin page.
login(sz, sz["tokens"]["query"])
d.get(sz["api"] + "/console/admin")
assert "403" in d.title and "forbidden" in d.page_source, d.title
shot("11-query-token-admin-403")
d.quit()
print("OK: screenshots " + ", ".join(shots))
