/* Unit tests for cgi/decision.c: default category states per consent model,
 * and what GPC changes and locks. */
#include <criterion/criterion.h>
#include <string.h>

#include "../cgi/decision.h"

static struct config_category cats[] = {
    {"necessary", 1, 0}, {"analytics", 0, 0}, {"advertising", 0, 1},
};
static struct config_site site = {.id = "t", .categories = cats,
                                  .ncategories = 3};

static struct regime regime(enum consent_model m, int binding, int64_t since)
{
    struct regime g;

    memset(&g, 0, sizeof(g));
    strcpy(g.id, "x");
    g.model = m;
    g.gpc_binding = binding;
    g.gpc_binding_since = since;
    g.consent_days = 365;
    return g;
}

Test(decision, opt_in_starts_everything_optional_off)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision d;

    decision_make(&site, &g, 0, 1000, &d);
    cr_assert(d.categories[0].on);
    cr_assert_eq(d.categories[0].lock, LOCK_NECESSARY);
    cr_assert_not(d.categories[1].on);
    cr_assert_not(d.categories[2].on);
    cr_assert_eq(d.categories[2].lock, LOCK_NONE);
    cr_assert_not(d.gpc_changed_any);
}

Test(decision, gpc_in_an_opt_in_region_changes_nothing_and_locks_nothing)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision d;

    decision_make(&site, &g, 1, 1000, &d);
    cr_assert(d.gpc_received);
    cr_assert_not(d.gpc_binding);
    cr_assert_not(d.gpc_changed_any);
    cr_assert_eq(d.categories[2].lock, LOCK_NONE);
}

Test(decision, opt_out_and_notice_start_on)
{
    struct regime g = regime(MODEL_OPT_OUT, 1, 0);
    struct regime n = regime(MODEL_NOTICE, 0, 0);
    struct decision d;

    decision_make(&site, &g, 0, 1000, &d);
    cr_assert(d.categories[1].on);
    cr_assert(d.categories[2].on);
    decision_make(&site, &n, 0, 1000, &d);
    cr_assert(d.categories[2].on);
}

Test(decision, binding_gpc_turns_sale_off_and_locks_it)
{
    struct regime g = regime(MODEL_OPT_OUT, 1, 0);
    struct decision d;

    decision_make(&site, &g, 1, 1000, &d);
    cr_assert(d.gpc_binding);
    cr_assert_not(d.categories[2].on);
    cr_assert_eq(d.categories[2].lock, LOCK_GPC);
    cr_assert(d.categories[2].gpc_changed);
    cr_assert(d.categories[1].on, "analytics is not sale/sharing");
    cr_assert_eq(d.categories[1].lock, LOCK_NONE);
}

Test(decision, non_binding_gpc_turns_sale_off_but_leaves_it_changeable)
{
    struct regime g = regime(MODEL_NOTICE, 0, 0);
    struct decision d;

    decision_make(&site, &g, 1, 1000, &d);
    cr_assert_not(d.gpc_binding);
    cr_assert_not(d.categories[2].on);
    cr_assert_eq(d.categories[2].lock, LOCK_NONE);
    cr_assert(d.gpc_changed_any);
}

Test(decision, gpc_before_the_law_applies_is_not_binding)
{
    struct regime g = regime(MODEL_OPT_OUT, 1, 5000);
    struct decision d;

    decision_make(&site, &g, 1, 4999, &d);
    cr_assert_not(d.gpc_binding);
    cr_assert_eq(d.categories[2].lock, LOCK_NONE);
    decision_make(&site, &g, 1, 5000, &d);
    cr_assert(d.gpc_binding);
}

Test(decision, lock_names)
{
    cr_assert_str_eq(decision_lock_name(LOCK_GPC), "gpc");
    cr_assert_str_eq(decision_lock_name(LOCK_NECESSARY), "necessary");
    cr_assert_null(decision_lock_name(LOCK_NONE));
}
