#!/usr/bin/env bash
# Opens a wsharness HTML report in headless Chromium and fails on anything a reader would trip over.
#
#   bash ci/html_check.sh PAGE.html [--screenshot OUT.png] [--dom OUT.html] [--require ID]... [--width PX]
#                         [--first-screen SELECTOR]
#
# Fails (exit 1, each problem on its own line) when
#   - the page lacks the Content-Security-Policy meta that forbids every fetch (default-src 'none'):
#     with it, any request the page tried would be blocked and logged on the console;
#   - the browser console shows anything: an error, a blocked fetch, a log line;
#   - an element named by --require (an id) is missing from the DOM after the scripts ran;
#   - the page is wider than the window (default 1366 px, a laptop): horizontal scrolling;
#   - the element named by --first-screen (a CSS selector, e.g. '#failing details.case') is missing or not
#     wholly within the first screen (the window's height, 900 px) when the page opens.
# Exit 3: Chromium is not installed (Debian: apt-get install chromium).
# Chromium's own background traffic (update checks) is sent to a closed loopback port and no name
# resolves, so nothing leaves the machine.
set -euo pipefail

page="" shot="" dom_out="" width=1366 height=900 first_screen=""
required=()
while [ $# -gt 0 ]; do
  case "$1" in
    --screenshot) shot="$2"; shift 2 ;;
    --dom) dom_out="$2"; shift 2 ;;
    --require) required+=("$2"); shift 2 ;;
    --width) width="$2"; shift 2 ;;
    --first-screen) first_screen="$2"; shift 2 ;;
    -*) echo "html_check: unknown option $1" >&2; exit 2 ;;
    *) page="$1"; shift ;;
  esac
done
[ -n "$page" ] || { echo "usage: html_check.sh PAGE.html [--screenshot OUT.png] [--dom OUT.html] [--require ID]..." >&2; exit 2; }
[ -f "$page" ] || { echo "html_check: $page: no such file" >&2; exit 2; }
# the selector goes into the probe script below: letters, digits and the few signs of simple selectors only
if ! [[ "$first_screen" =~ ^[A-Za-z0-9\ \#.:_-]*$ ]]; then
  echo "html_check: --first-screen takes a simple CSS selector (letters, digits, space, # . : _ -)" >&2; exit 2
fi

browser=""
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
[ -n "$browser" ] || { echo "html_check: Chromium is not installed (Debian: apt-get install chromium)" >&2; exit 3; }

work="$(mktemp -d "${TMPDIR:-/tmp}/html_check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
problems=0
problem() { echo "html_check: $page: $*" >&2; problems=$((problems + 1)); }

# 1. the policy that makes every fetch fail loudly
if ! head -c 4096 "$page" | grep -q "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"; then
  problem "no Content-Security-Policy meta with default-src 'none' at the top of the page"
fi

# 2. the page as the browser sees it, with a probe that measures the layout appended
abs="$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
probe="$work/probed.html"
# the probe: the page's width, the window's, then the bottom of the --first-screen element (-1: none named,
# -2: not found) and the window's height
sed "s|</body>|<script>(function () { var sel = '$first_screen'; var el = sel ? document.querySelector(sel) : null; var bottom = sel ? (el ? Math.ceil(el.getBoundingClientRect().bottom) : -2) : -1; document.body.insertAdjacentHTML('beforeend', '<pre id=\"html-check-probe\">' + document.documentElement.scrollWidth + ' ' + window.innerWidth + ' ' + bottom + ' ' + window.innerHeight + '</pre>'); })();</script></body>|" "$abs" > "$probe"
run_browser() {
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --disable-background-networking --disable-component-update --disable-sync --no-pings \
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="http://127.0.0.1:9" --proxy-bypass-list="<-loopback>" \
    --user-data-dir="$work/profile" --hide-scrollbars --window-size="$width,$height" \
    --enable-logging=stderr --v=0 "$@"
}
if ! run_browser --dump-dom "file://$probe" > "$work/dom.html" 2> "$work/console.log"; then
  problem "Chromium failed: $(tail -n 3 "$work/console.log" | tr '\n' ' ')"
fi
if grep -q ':CONSOLE' "$work/console.log"; then
  while IFS= read -r line; do problem "console: ${line#*] }"; done < <(grep ':CONSOLE' "$work/console.log")
fi
for id in ${required[@]+"${required[@]}"}; do
  grep -q "id=\"$id\"" "$work/dom.html" || problem "no element with id=\"$id\""
done
read -r scroll_width inner_width bottom inner_height < <(sed -n 's#.*<pre id="html-check-probe">\([0-9]*\) \([0-9]*\) \(-*[0-9]*\) \([0-9]*\)</pre>.*#\1 \2 \3 \4#p' "$work/dom.html") || true
if [ -z "${scroll_width:-}" ]; then
  problem "the layout probe did not run"
elif [ "$scroll_width" -gt "$inner_width" ]; then
  problem "the page is ${scroll_width} px wide in a ${inner_width} px window (horizontal scrolling)"
fi
if [ -n "$first_screen" ] && [ -n "${bottom:-}" ]; then
  if [ "$bottom" -eq -2 ]; then
    problem "no element matches --first-screen '$first_screen'"
  elif [ "$bottom" -gt "$inner_height" ]; then
    problem "'$first_screen' ends at ${bottom} px, below the first screen (${inner_height} px)"
  fi
fi
if [ -n "$dom_out" ]; then
  sed 's#<script>(function () { var sel = .*</script>##' "$work/dom.html" > "$dom_out"
fi

# 3. what a reader sees first
if [ -n "$shot" ]; then
  shot_abs="$(cd "$(dirname "$shot")" && pwd)/$(basename "$shot")"
  if ! run_browser --screenshot="$shot_abs" "file://$abs" > /dev/null 2> "$work/shot.log" || [ ! -s "$shot_abs" ]; then
    problem "no screenshot: $(tail -n 3 "$work/shot.log" | tr '\n' ' ')"
  fi
fi

if [ "$problems" -gt 0 ]; then
  echo "html_check: $page: $problems problem(s)" >&2
  exit 1
fi
echo "html_check: $page: OK (no console message, ${scroll_width} px wide in ${inner_width} px${first_screen:+, '$first_screen' ends at $bottom px of $inner_height}${shot:+, screenshot $shot})"
