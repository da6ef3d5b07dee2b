/*
 * test_ui_text.c — display widths. Expected widths are those of Unicode's
 * East Asian Width property (UAX #11) and wcwidth conventions: CJK
 * ideographs and emoji are wide, combining marks zero.
 */
#include "config.h"

#include <string.h>

#include "tests/tap.h"
#include "ui/text.h"

static size_t w(const char *s)
{
	return ui_text_width(s, strlen(s));
}

int main(void)
{
	size_t cols, n;

	TAP_EQ_INT(w("hello"), 5, "ASCII is one column a character");
	TAP_EQ_INT(w("你好"), 4, "CJK ideographs are two columns");
	TAP_EQ_INT(w("こんにちは"), 10, "kana are two columns");
	TAP_EQ_INT(w("e\xcc\x81"), 1, "a combining acute adds no width");
	TAP_EQ_INT(w("\xf0\x9f\x98\x80"), 2, "an emoji (U+1F600) is two columns");
	TAP_EQ_INT(w("a\x1b[31m"), 1 + 4 + 4, "ESC counts as its visible escape \\x1b");
	TAP_EQ_INT(w("\xff" "a"), 2, "an invalid byte is one replacement character");
	TAP_EQ_INT(w("\xe2\x80\x8b"), 0, "ZERO WIDTH SPACE has no width");

	n = ui_text_fit("你好世界", strlen("你好世界"), 5, &cols);
	TAP_EQ_INT(n, 6, "fit never splits a wide character (5 columns hold two)");
	TAP_EQ_INT(cols, 4, "fit reports the columns used");
	n = ui_text_fit("abc", 3, 10, &cols);
	TAP_EQ_INT(n, 3, "fit takes everything when it fits");
	n = ui_text_fit("e\xcc\x81x", 4, 1, &cols);
	TAP_EQ_INT(n, 3, "a combining mark stays with its base at the edge");
	return tap_done();
}
