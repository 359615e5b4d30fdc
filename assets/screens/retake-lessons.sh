#!/usr/bin/env bash
# Retake the README's lesson pictures (assets/screens/lesson-*.png) after a change to the window:
# each bundled lesson is played in the presenter view at 1600 x 900 under Xvfb, moved on with the
# presenter's Next key (Right) to the step its picture shows, and captured with ImageMagick's `import`.
#
#   assets/screens/retake-lessons.sh [OUT_DIR [LESSON...]]
#
# OUT_DIR: where the pictures go (default: this folder); LESSON: which (default: all six).
# Environment: BIN, the grokscope binary (default: target/release/grokscope; build it first with
# `cargo build --release --features candle`); DISP, the X display to use (default 102); SLOW, a factor
# on every wait (default 1; 2 on a busy machine).
# Needs Xvfb, xdotool and ImageMagick. A step that waits for its run is given its time before Next
# (Next during a wait would skip it): the waits below are about twice what each took on two cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here}
shift || true
BIN=${BIN:-$root/target/release/grokscope}
DISP=${DISP:-102}
SLOW=${SLOW:-1}

# lesson: the seconds to wait on each step before Next, then the seconds before the picture
# (the picture is of the step after the last Next: step 1 + the number of waits before it)
declare -A PLAN=(
    [memorise-then-understand]="3 8 15 15 20"  # 5 / 6, It understands (waits for generalised)
    [clock-inside]="5 10 12"                    # 3 / 7, The clock (20 steps a second to step 210)
    [weight-decay]="25 30 5 20"                 # 4 / 5, Side by side (the fork held at step 1000)
    [small-models]="3 3 3"                      # 3 / 5, Understanding stays about as slow
    [when-grokking-happens]="2 10 8 5"          # 4 / 4, A finer map (the 6 x 6 study, opened)
    [pruning-makes-order]="4 4 16 3"            # 4 / 6, More order, but is it learned?
)
lessons=("$@")
if [ ${#lessons[@]} -eq 0 ]; then
    lessons=(memorise-then-understand weight-decay clock-inside when-grokking-happens small-models
        pruning-makes-order)
fi
for l in "${lessons[@]}"; do
    [ -n "${PLAN[$l]:-}" ] || { echo "no plan for lesson '$l' (known: ${!PLAN[*]})" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "no grokscope binary at $BIN (set BIN, or build it)" >&2; exit 2; }
for tool in Xvfb xdotool import; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }
done
mkdir -p "$out"

# a display of our own, and a home of our own (no settings from an earlier session)
Xvfb ":$DISP" -screen 0 1600x900x24 >/dev/null 2>&1 &
xvfb=$!
home=$(mktemp -d)
app=
cleanup() {
    [ -n "$app" ] && kill "$app" 2>/dev/null || true
    kill "$xvfb" 2>/dev/null || true
    rm -rf "$home"
}
trap cleanup EXIT
export DISPLAY=":$DISP"
sleep 1

wait_s() { sleep "$(awk -v s="$1" -v f="$SLOW" 'BEGIN { print s * f }')"; }

for l in "${lessons[@]}"; do
    read -r -a waits <<<"${PLAN[$l]}"
    HOME=$home XDG_RUNTIME_DIR=$home "$BIN" --lesson "$l" --presenter >"$home/$l.log" 2>&1 &
    app=$!
    win=
    for _ in $(seq 40); do
        win=$(xdotool search --name grokscope 2>/dev/null | head -1 || true)
        [ -n "$win" ] && break
        sleep 0.5
    done
    [ -n "$win" ] || { echo "$l: the window did not open (see $home/$l.log)" >&2; exit 1; }
    xdotool windowsize "$win" 1600 900 windowmove "$win" 0 0
    # the pointer parked on the step's title, away from hovers
    xdotool mousemove 800 110
    last=$((${#waits[@]} - 1))
    for i in "${!waits[@]}"; do
        wait_s "${waits[$i]}"
        if [ "$i" -lt "$last" ]; then
            xdotool windowfocus --sync "$win" key Right
        fi
    done
    import -window root "$out/lesson-$l.png"
    echo "$out/lesson-$l.png"
    kill "$app" 2>/dev/null || true
    wait "$app" 2>/dev/null || true
    app=
done
