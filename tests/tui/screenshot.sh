#!/bin/sh
# screenshot.sh — the README picture: duet with two models side by side,
# painted by a real terminal (xterm) on a virtual X display (Xvfb), captured
# with xwd and turned into a small PNG by ImageMagick.
#
#   tests/tui/screenshot.sh [OUT.png]      (default tests/tui/duet-two-panes.png)
#
# Needs Xvfb, xterm, xwd, ImageMagick and tmux (Debian: apt-get install xvfb
# xterm x11-apps imagemagick tmux), the SmolLM2 model, and a second model in
# $MODEL2 (default: Qwen2.5-Coder-0.5B-Instruct from the models cache when
# present, else SmolLM2 again). duet is driven through tmux inside the xterm,
# with the same helpers as the tests.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
OUT=${1:-$top_srcdir/tests/tui/duet-two-panes.png}
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
COLS=${COLS:-132} ROWS=${ROWS:-34}

for tool in Xvfb xterm xwd tmux; do
    command -v $tool >/dev/null 2>&1 || { echo "screenshot.sh: $tool is missing (apt-get install xvfb xterm x11-apps tmux)" >&2; exit 1; }
done
CONVERT=""
for c in magick convert-im6.q16 /usr/bin/convert convert; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -version 2>/dev/null | grep -q ImageMagick; then CONVERT=$c; break; fi
done
[ -n "$CONVERT" ] || { echo "screenshot.sh: ImageMagick is missing (apt-get install imagemagick)" >&2; exit 1; }

# The test helpers: tui_start, send, wait_idle ... (they skip, exit 0, when the model is missing).
. "$top_srcdir/tests/tui/lib.sh"
[ -r "$MODEL" ] || { echo "screenshot.sh: $MODEL is missing" >&2; exit 1; }
MODEL2=${MODEL2:-$(dirname "$MODEL")/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}
[ -r "$MODEL2" ] || MODEL2=$MODEL

xpids=""
shot_cleanup() { for p in $xpids; do kill "$p" 2>/dev/null || :; done; tui_cleanup; }
trap shot_cleanup EXIT INT TERM

# A virtual display; Xvfb picks a free number and tells it on fd 3.
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$T/display" 2>"$T/xvfb.log" &
xpids="$!"
i=0
while [ ! -s "$T/display" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
DISPLAY=:$(cat "$T/display"); export DISPLAY

tui_start "$COLS" "$ROWS" -- -m "$MODEL" -m "$MODEL2" --temp 0 --threads 1 -n 200 --layout side
# The xterm attaches to duet's tmux session; tmux's own status line is off.
xterm -T duet-shot -geometry "${COLS}x${ROWS}+0+0" -fa "DejaVu Sans Mono" -fs 11 -b 8 -bw 0 \
    -bg '#1b1d23' -fg '#d7dae0' -cr '#d7dae0' -tn xterm-256color +sb \
    -e tmux -S "$T/tmux.sock" attach -t duet 2>"$T/xterm.log" &
xpids="$xpids $!"
wait_idle 120 || { echo "screenshot.sh: duet did not come up" >&2; exit 1; }
send "Why is the sky blue? Answer in two sentences."
wait_idle 600 || { echo "screenshot.sh: the answers did not finish" >&2; exit 1; }
keys C-l
sleep 1 # the xterm paints what tmux sent; nothing to poll for in X
xwd -silent -name duet-shot >"$T/shot.xwd" || { echo "screenshot.sh: xwd failed" >&2; exit 1; }
"$CONVERT" "xwd:$T/shot.xwd" -strip -colors 48 "png8:$OUT" || exit 1
echo "wrote $OUT ($(wc -c <"$OUT") bytes)"
