# lib.sh — what the tmux-driven tests of the chat interface share (sourced).
#
# Each test runs the real duet in its own tmux server (a private socket) with
# an isolated HOME and XDG folders, drives it with send-keys and reads the
# screen with capture-pane. Screens are compared on content: a test waits for
# a state by polling the screen until a pattern appears (or a generous
# timeout passes), never by sleeping a fixed time. Greedy sampling (--temp 0)
# keeps answers the same from run to run. TAP output.
#
# Needs tmux and the SmolLM2 model; without them the test is skipped (or
# fails under DUET_REQUIRE_MODELS=1 when the model is missing).

set -u
# The checks below count characters and match CJK ranges.
LC_ALL=C.UTF-8; export LC_ALL
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
DUET=${DUET:-$top_builddir/duet}
case $DUET in /*) ;; *) DUET=$(cd "$(dirname "$DUET")" && pwd)/$(basename "$DUET") ;; esac
top_srcdir=$(cd "$top_srcdir" && pwd)
# Polling timeouts in seconds: generous, for a loaded two-core machine.
TUI_TIMEOUT=${TUI_TIMEOUT:-60}

n=0 bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
done_testing() { echo "1..$n"; [ "$bad" -eq 0 ]; }

models_dir() {
    if [ -n "${DUET_MODELS:-}" ]; then echo "$DUET_MODELS"
    elif [ -n "${XDG_CACHE_HOME:-}" ]; then echo "$XDG_CACHE_HOME/duet/models"
    else echo "$HOME/.cache/duet/models"; fi
}
MODEL=$(models_dir)/SmolLM2-135M-Instruct.Q4_1.gguf

command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
[ -x "$DUET" ] || skip_all "$DUET not built"
if [ ! -r "$MODEL" ]; then
    if [ "${DUET_REQUIRE_MODELS:-0}" = 1 ]; then
        echo "not ok 1 - model $MODEL present (./setup.sh fetches it)"; echo "1..1"; exit 1
    fi
    skip_all "model $MODEL not fetched (./setup.sh fetches it)"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/duet-tui.XXXXXX")
export HOME_T="$T/home"
mkdir -p "$HOME_T/.config/duet" "$HOME_T/.state" "$HOME_T/.data"
# A private tmux server whose socket lives (and dies) with the test's folder.
tm() { tmux -S "$T/tmux.sock" "$@"; }
tui_cleanup() { tm kill-server >/dev/null 2>&1; rm -rf "$T"; }
trap tui_cleanup EXIT INT TERM

# The environment duet runs in: its own home, a UTF-8 locale, a terminal type tmux emulates.
TUI_ENV="HOME=$HOME_T XDG_CONFIG_HOME=$HOME_T/.config XDG_STATE_HOME=$HOME_T/.state \
XDG_DATA_HOME=$HOME_T/.data XDG_CACHE_HOME=$HOME_T/.cache DUET_PROMPTS_DIR=$top_srcdir/prompts \
DUET_MODELS=$(dirname "$MODEL") LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color EDITOR=vi VISUAL= ${TUI_EXTRA_ENV:-}"

# tui_start COLS ROWS [VAR=VALUE...] -- DUET-ARGS...: start duet in a fresh window.
# After duet exits the window shows "DUET-EXIT=<status>".
tui_start() {
    cols=$1 rows=$2; shift 2
    extra=""
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do extra="$extra $1"; shift; done
    [ $# -gt 0 ] && shift
    args=""
    for a in "$@"; do args="$args '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"; done
    # The CPU, always: a CUDA build on a machine without a GPU (CI) would
    # otherwise add a "running on the CPU" note to every transcript.
    args="$args --device cpu"
    # A session that outlives the others keeps the server up: killing the last
    # session makes a server exit, and a new-session racing that exit fails.
    tm has-session -t keep >/dev/null 2>&1 || tm -f /dev/null new-session -d -s keep "sleep 86400"
    tm kill-session -t duet >/dev/null 2>&1 || :
    tm new-session -d -s duet -x "$cols" -y "$rows" \
        "env $TUI_ENV $extra '$DUET' $args; echo DUET-EXIT=\$?; sleep 600"
    tm set-option -t duet status off >/dev/null
    tm resize-window -t duet -x "$cols" -y "$rows" >/dev/null 2>&1
    # Keys typed before curses has the terminal would meet a cooked tty: wait for the first screen.
    wait_until '[ -n "$(screen | tr -d "[:space:]")" ]' >/dev/null
}

screen() { tm capture-pane -p -t duet; }
# keys KEY...: tmux key names (Enter, Escape, C-c, Up ...)
keys() { tm send-keys -t duet "$@"; }
# type TEXT: literal text
type_text() { tm send-keys -t duet -l -- "$1"; }
resize() { tm resize-window -t duet -x "$1" -y "$2"; }
duet_pid() { pgrep -P "$(tm display-message -p -t duet '#{pane_pid}')" -x duet | head -1; }

# wait_for TEXT [TIMEOUT]: until the screen shows TEXT (a fixed string). Prints the screen when it never does.
wait_for() {
    deadline=$(( $(date +%s) + ${2:-$TUI_TIMEOUT} ))
    while :; do
        if screen | grep -qF -- "$1"; then return 0; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "# waited for: $1"; screen | sed 's/^/#   |/'; return 1
        fi
        sleep 0.2
    done
}

# wait_until SHELL-CONDITION [TIMEOUT]: until the condition (evaluated on each poll) holds.
wait_until() {
    deadline=$(( $(date +%s) + ${2:-$TUI_TIMEOUT} ))
    while :; do
        if eval "$1"; then return 0; fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "# waited until: $1"; screen | sed 's/^/#   |/'; return 1
        fi
        sleep 0.2
    done
}

# idle: the interface is up, no pane is generating (no "▶", the hint says "/help") and the models are loaded.
idle() {
    s=$(screen)
    printf '%s' "$s" | tail -1 | grep -qF '/help' && ! printf '%s' "$s" | grep -qF '▶' &&
        ! printf '%s' "$s" | grep -qF 'loading'
}
wait_idle() { wait_until idle "${1:-$TUI_TIMEOUT}"; }

# check NAME COMMAND...: a test point from a command's status.
check() { name=$1; shift; if "$@"; then ok "$name"; else notok "$name"; fi; }

# left / right: the panes of a side-by-side screen, split at the separator "│".
left() { screen | awk -F'│' '{ print $1 }' | sed 's/ *$//'; }
right() { screen | awk -F'│' '{ print $2 }' | sed 's/ *$//'; }

# input_empty: the input line holds nothing (it is the line above the message line).
input_empty() { screen | tail -2 | head -1 | grep -qE '^(›|»|[12]›) *$'; }
# send TEXT: type it and press Enter; returns once duet took it (the input emptied).
send() { type_text "$1"; keys Enter; wait_until input_empty; }
# ask TEXT: send a message and wait until every answer is done.
ask() { send "$1" && wait_idle "${2:-$TUI_TIMEOUT}"; }
# flat: the screen as one line, wrapped lines joined by a space (where the wrap dropped one).
flat() { screen | sed 's/^ *//; s/ *$//' | tr '\n' ' '; }
