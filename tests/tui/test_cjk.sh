#!/bin/sh
# test_cjk.sh — Chinese in and out: a CJK message wraps by display width (two
# columns an ideograph), the model's Chinese answer shows as Chinese, and a
# combining accent stays on its letter.
. "${top_srcdir:-.}/tests/tui/lib.sh"

tui_start 40 24 -- -m "$MODEL" --temp 0 -n 40
wait_idle
# 40 columns: a one-column margin each side and "› " leave 36 columns, 18 ideographs.
msg="请用中文回答这个问题：天空为什么是蓝色的？我们想知道原因和道理以及更多的细节。"
type_text "$msg"
check "the input line shows Chinese" wait_for "› 请用中文"
keys Enter
check "the message appears in the transcript" wait_until 'screen | sed -n 2p | grep -qF "› 请用中文回答这个问题"'
line2=$(screen | sed -n 2p | sed 's/^ › //; s/[[:space:]]*$//')
chars=$(printf '%s' "$line2" | wc -m)
if [ "$chars" -eq 18 ]; then ok "a line holds 18 ideographs (36 columns)"; else notok "a line holds 18 ideographs (36 columns): got $chars in '$line2'"; fi
joined=$(screen | sed -n '2,4p' | sed 's/^ › //; s/^   //; s/[[:space:]]*$//' | tr -d '\n')
case $joined in
    "$msg"*) ok "the wrapped lines join to the message, nothing lost or split" ;;
    *) notok "the wrapped lines join to the message: '$joined'" ;;
esac
check "the answer finishes" wait_idle
# The model echoes Chinese back; any ideograph past the question's lines will do.
if screen | sed -n '6,22p' | grep -qP '\p{Han}'; then ok "the answer shows Chinese characters"; else
    notok "the answer shows Chinese characters"; screen | sed 's/^/#   |/'; fi

type_text "café naïve"
check "combining-free Latin-1 text is shown as typed" wait_for "café naïve"
keys C-u
type_text "$(printf 'cafe\314\201')"
check "a combining acute after e shows as é" wait_for "$(printf 'cafe\314\201')"
keys C-u C-d
check "quits" wait_for "DUET-EXIT=0"
done_testing
