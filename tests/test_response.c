/* Unit tests for cgi/response.c: headers, the sticky failure that
 * response_finish turns into a 500, and rendering. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../cgi/response.h"

static char buf[RESPONSE_BUFFER];

static const char *render(const struct response *res, int head)
{
    size_t len;
    char *out = response_render(res, head, buf, sizeof(buf), &len);

    cr_assert_eq(out, buf);
    buf[len] = '\0';
    return buf;
}

Test(response, headers_and_a_json_body_render_in_order)
{
    struct response res;

    response_init(&res);
    response_header(&res, "Cache-Control", "no-store");
    response_json(&res, 201, cJSON_Parse("{\"a\":1}"));
    cr_assert_eq(response_finish(&res), RESPONSE_OK);
    cr_assert_str_eq(render(&res, 0), "Status: 201 Created\r\nCache-Control: no-store\r\n"
                                      "Content-Type: application/json\r\n\r\n{\"a\":1}");
    cr_assert_str_eq(render(&res, 1), "Status: 201 Created\r\nCache-Control: no-store\r\n"
                                      "Content-Type: application/json\r\n\r\n");
    response_cleanup(&res);
}

Test(response, a_header_with_cr_or_lf_fails_the_response_not_just_the_header)
{
    struct response res;
    size_t len;

    response_init(&res);
    response_header(&res, "Set-Cookie", "a=1\r\nX-Evil: 1");
    response_header(&res, "Cache-Control", "no-store");     /* added: the failure sticks */
    response_json(&res, 200, cJSON_Parse("{\"ok\":true}"));
    cr_assert_eq(res.failed, RESPONSE_BAD_HEADER);
    cr_assert_null(strstr(res.headers, "Evil"));
    cr_assert_null(response_render(&res, 0, buf, sizeof(buf), &len),
                   "a failed response is never rendered as it stands");
    cr_assert_eq(response_finish(&res), RESPONSE_BAD_HEADER);
    cr_assert_eq(res.status, 500);
    cr_assert_str_eq(res.error_code, "response_failed");
    cr_assert_str_eq(render(&res, 0), "Status: 500 Internal Server Error\r\n"
                     "Content-Type: application/json\r\n\r\n"
                     "{\"error\":{\"code\":\"response_failed\","
                     "\"message\":\"the response could not be built\"}}");
    cr_assert_eq(response_finish(&res), RESPONSE_OK, "the replacement is whole");
    response_cleanup(&res);
}

Test(response, a_header_name_with_a_colon_fails_the_response)
{
    struct response res;

    response_init(&res);
    response_header(&res, "X-A: b", "c");
    cr_assert_eq(response_finish(&res), RESPONSE_BAD_HEADER);
    cr_assert_eq(res.status, 500);
    response_cleanup(&res);
}

Test(response, a_full_header_block_fails_the_response_and_keeps_the_first_failure)
{
    struct response res;
    static char big[RESPONSE_MAX_HEADERS];

    memset(big, 'x', sizeof(big) - 1);
    response_init(&res);
    response_header(&res, "Vary", "Origin");
    response_header(&res, "X-Big", big);
    cr_assert_eq(res.failed, RESPONSE_HEADERS_FULL);
    cr_assert_str_eq(res.headers, "Vary: Origin\r\n", "nothing half-written");
    response_header(&res, "X", "a\nb");
    cr_assert_eq(response_finish(&res), RESPONSE_HEADERS_FULL, "the first failure is kept");
    cr_assert_eq(res.hlen, 0, "the failed response's headers are dropped");
    response_cleanup(&res);
}

Test(response, a_failed_text_response_is_replaced_too)
{
    struct response res;

    response_init(&res);
    response_text(&res, 200, "text/plain", strdup("hello"));
    response_header(&res, "X", "a\rb");
    cr_assert_eq(response_finish(&res), RESPONSE_BAD_HEADER);
    cr_assert_null(res.text);
    cr_assert_not_null(res.body);
    response_cleanup(&res);
}

Test(response, every_status_has_a_message)
{
    for (int s = RESPONSE_OK; s <= RESPONSE_HEADERS_FULL; s++)
        cr_assert_str_neq(response_strerror(s), "unknown error");
    cr_assert_str_eq(response_strerror(99), "unknown error");
}
