#!/bin/sh
# scripts/fnlen.sh [MAX] FILE.c ... - the function-length report `make lint`
# runs: prints every function longer than MAX lines (default 60) as
# "FILE:LINE: NAME is N lines", and exits 1 if any of them has no reason.
# A reason is a comment block right above the function (before its
# signature) with a line saying "Long because ...": a long function is
# allowed when it says why, never silently.
#
# It reads the project's own layout (STYLE.md, like nginx and redis): a
# function's opening brace and closing brace stand alone in column 0.
set -eu
max=60
case "${1:-}" in [0-9]*) max=$1; shift ;; esac
awk -v max="$max" '
FNR == 1 { start = 0; sig = ""; reason = 0; cmt = 0; cmt_reason = 0 }
# Comment blocks: remember whether the last one said why.
start == 0 && /^\/\*/ { cmt = 1; cmt_reason = 0 }
start == 0 && cmt && /[Ll]ong because/ { cmt_reason = 1 }
start == 0 && cmt && /\*\// { cmt = 0; reason = cmt_reason; sig = ""; next }
start == 0 && cmt { next }
start == 0 && /^$/ { sig = ""; reason = 0; next }
start == 0 && /^[#}]/ { sig = ""; reason = 0; next }
start == 0 && /^\{/ {
    s = sig; name = ""
    while (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
        w = substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
        sub(/[ \t]*\($/, "", w)
        if (w != "__attribute__" && w != "sizeof") { name = w; break }
    }
    start = FNR; fname = name; freason = reason
    next
}
start == 0 { sig = sig " " $0; if ($0 ~ /;[ \t]*$/) { sig = ""; reason = 0 } next }
start > 0 && /^\}/ {
    len = FNR - start + 1
    if (len > max && fname != "") {
        printf "%s:%d: %s is %d lines%s\n", FILENAME, start, fname, len, \
            freason ? " (has a reason)" : ""
        if (!freason) bad++
    }
    start = 0; sig = ""; reason = 0
}
END {
    if (bad > 0) {
        printf "%d function(s) over %d lines without a \"Long because\" comment\n", bad, max
        exit 1
    }
}' "$@"
