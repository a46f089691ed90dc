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

/* ---- prompt: when the banner asks again ---- */

static const int64_t DAY = 86400000;

static struct decision_stored stored_at(int64_t t, int days, int opted_out)
{
    struct decision_stored s = {1, t, t + days * DAY, 1, MODEL_OPT_IN, opted_out};
    return s;
}

Test(prompt, asks_when_nothing_is_stored)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision_stored none = {0};

    cr_assert(decision_prompt(&none, &g, 1, 1000, 0));
}

Test(prompt, does_not_ask_while_a_choice_is_valid)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision_stored s = stored_at(0, 365, 0);

    cr_assert_not(decision_prompt(&s, &g, 1, 364 * DAY, 0));
}

Test(prompt, asks_when_the_choice_expired)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision_stored s = stored_at(0, 182, 0);

    cr_assert_not(decision_prompt(&s, &g, 1, 182 * DAY - 1, 0));
    cr_assert(decision_prompt(&s, &g, 1, 182 * DAY, 0));
}

Test(prompt, asks_when_the_site_raised_its_consent_revision)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision_stored s = stored_at(0, 365, 0);

    cr_assert(decision_prompt(&s, &g, 2, DAY, 0));
}

Test(prompt, asks_in_an_opt_in_region_when_the_answer_was_only_a_notice)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision_stored s = stored_at(0, 365, 0);

    s.model = MODEL_NOTICE;
    cr_assert(decision_prompt(&s, &g, 1, DAY, 0));
    g.model = MODEL_NOTICE;
    cr_assert_not(decision_prompt(&s, &g, 1, DAY, 0));
}

Test(prompt, always_asks_when_the_visitor_opens_the_settings)
{
    struct regime g = regime(MODEL_OPT_OUT, 1, 0);
    struct decision_stored s = stored_at(0, 365, 1);

    g.optout_quiet_days = 365;
    cr_assert(decision_prompt(&s, &g, 1, DAY, 1));
}

Test(prompt, keeps_quiet_for_a_year_after_a_california_opt_out)
{
    struct regime g = regime(MODEL_OPT_OUT, 1, 0);
    struct decision_stored s = stored_at(0, 30, 1);

    g.optout_quiet_days = 365;
    /* expired and a new revision, but still inside the quiet year */
    cr_assert_not(decision_prompt(&s, &g, 2, 200 * DAY, 0));
    cr_assert(decision_prompt(&s, &g, 2, 365 * DAY, 0));
    /* no quiet period without an opt-out */
    s.opted_out = 0;
    cr_assert(decision_prompt(&s, &g, 2, 200 * DAY, 0));
}

Test(decision, a_stored_choice_stands_where_gpc_is_not_binding)
{
    struct regime g = regime(MODEL_OPT_IN, 0, 0);
    struct decision d;
    int stored[3] = {1, 0, 1}, known[3] = {1, 1, 1}, out[3];

    decision_make(&site, &g, 1, 1000, &d);
    cr_assert_not(decision_apply(&site, &d, stored, known, 1, out),
                  "advertising on: GPC sent but not honoured");
    cr_assert(out[2], "the recorded choice applies, not GPC");
    cr_assert_not(out[1]);
}

Test(decision, binding_gpc_turns_a_stored_sale_choice_off)
{
    struct regime g = regime(MODEL_OPT_OUT, 1, 0);
    struct decision d;
    int stored[3] = {1, 1, 1}, known[3] = {1, 1, 1}, out[3];

    decision_make(&site, &g, 1, 1000, &d);
    cr_assert(decision_apply(&site, &d, stored, known, 1, out));
    cr_assert_not(out[2]);
    cr_assert(out[1]);
}

Test(decision, without_a_stored_choice_the_gpc_defaults_apply)
{
    struct regime g = regime(MODEL_NOTICE, 0, 0);
    struct decision d;
    int out[3];

    decision_make(&site, &g, 1, 1000, &d);
    cr_assert(decision_apply(&site, &d, NULL, NULL, 0, out));
    cr_assert(out[0]);
    cr_assert(out[1]);
    cr_assert_not(out[2]);
    decision_make(&site, &g, 0, 1000, &d);
    cr_assert_not(decision_apply(&site, &d, NULL, NULL, 0, out), "no GPC sent");
    cr_assert(out[2]);
}

/* ---- the GPP string (decision_gpp) ---- */

static struct gpp_section gpp_of(const struct config_site *s, int sid, int gpc, int adv_on)
{
    int on[3] = {1, 1, adv_on};
    char out[GPP_MAX_STRING + 1], err[256];
    struct gpp_string g;

    cr_assert_eq(decision_gpp(s, sid, gpc, on, out, sizeof(out)), 0);
    cr_assert_eq(gpp_decode(out, strlen(out), &g, err, sizeof(err)), GPP_OK, "%s: %s", out, err);
    cr_assert_eq(g.nsections, 1);
    cr_assert_eq(g.sections[0].id, sid);
    return g.sections[0];
}

Test(decision_gpp, california_records_the_opt_outs_and_gpc)
{
    struct gpp_section s;

    s = gpp_of(&site, GPP_USCA, 1, 0);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT_NOTICE][0], 1);
    cr_assert_eq(s.v[GPP_F_SHARING_OPT_OUT_NOTICE][0], 1);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT][0], 1);        /* opted out */
    cr_assert_eq(s.v[GPP_F_SHARING_OPT_OUT][0], 1);
    cr_assert_eq(s.v[GPP_F_MSPA_COVERED_TRANSACTION][0], 2);
    cr_assert(s.sub);
    cr_assert(s.gpc);

    s = gpp_of(&site, GPP_USCA, 0, 1);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT][0], 2);        /* did not opt out */
    cr_assert_eq(s.v[GPP_F_SHARING_OPT_OUT][0], 2);
    cr_assert(s.sub);
    cr_assert_not(s.gpc);
}

Test(decision_gpp, the_national_section_and_a_state_without_gpc_sub_section)
{
    struct gpp_section s;

    s = gpp_of(&site, GPP_USNAT, 0, 0);
    cr_assert_eq(s.v[GPP_F_SHARING_NOTICE][0], 1);
    cr_assert_eq(s.v[GPP_F_TARGETED_ADVERTISING_OPT_OUT][0], 1);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT][0], 1);
    s = gpp_of(&site, GPP_USVA, 1, 1);
    cr_assert_eq(s.v[GPP_F_TARGETED_ADVERTISING_OPT_OUT][0], 2);
    cr_assert_not(s.sub);                               /* usva has no GPC sub-section */
    cr_assert_not(s.gpc);
    s = gpp_of(&site, GPP_USIN, 1, 0);
    cr_assert_eq(s.v[GPP_F_PROCESSING_NOTICE][0], 1);
    cr_assert_not(s.sub);
}

Test(decision_gpp, a_site_without_sale_or_sharing_has_nothing_to_opt_out_of)
{
    static struct config_category plain[] = {{"necessary", 1, 0}, {"analytics", 0, 0}};
    struct config_site p = {.id = "p", .categories = plain, .ncategories = 2};
    struct gpp_section s = gpp_of(&p, GPP_USCA, 1, 0);

    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT_NOTICE][0], 0);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT][0], 0);
    cr_assert(s.gpc);
}

Test(decision_gpp, the_site_declaration_overrides_the_defaults)
{
    struct config_site d = site;
    struct gpp_section s;

    d.gpp_set[GPP_F_SALE_OPT_OUT_NOTICE] = 1;
    d.gpp_value[GPP_F_SALE_OPT_OUT_NOTICE] = 2;         /* notice not given */
    d.gpp_set[GPP_F_MSPA_COVERED_TRANSACTION] = 1;
    d.gpp_value[GPP_F_MSPA_COVERED_TRANSACTION] = 1;
    d.gpp_set[GPP_F_SHARING_NOTICE] = 1;                /* not in usca: ignored */
    d.gpp_value[GPP_F_SHARING_NOTICE] = 2;
    s = gpp_of(&d, GPP_USCA, 0, 0);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT_NOTICE][0], 2);
    cr_assert_eq(s.v[GPP_F_SALE_OPT_OUT][0], 0);        /* no notice: not applicable */
    cr_assert_eq(s.v[GPP_F_SHARING_OPT_OUT][0], 1);
    cr_assert_eq(s.v[GPP_F_MSPA_COVERED_TRANSACTION][0], 1);
    cr_assert_eq(s.v[GPP_F_SHARING_NOTICE][0], 0);
}

Test(decision_gpp, no_section_no_string)
{
    int on[3] = {1, 1, 1};
    char out[GPP_MAX_STRING + 1];

    cr_assert_eq(decision_gpp(&site, 0, 1, on, out, sizeof(out)), -1);
    cr_assert_str_eq(out, "");
    cr_assert_eq(decision_gpp(&site, 6, 1, on, out, sizeof(out)), -1);
    cr_assert_str_eq(out, "");
}

/* The ping's fields, as the reference library's getSection gives them:
 * every field in wire order, GpcSegmentType and Gpc last. */
Test(decision_gpp, the_ping_carries_the_string_and_its_decoded_section)
{
    int on[3] = {1, 1, 0};
    char out[GPP_MAX_STRING + 1];
    cJSON *p, *usca, *f;
    char *s;

    cr_assert_eq(decision_gpp(&site, GPP_USCA, 1, on, out, sizeof(out)), 0);
    p = decision_gpp_ping(out, GPP_USCA, 42);
    cr_assert_not_null(p);
    cr_assert_str_eq(cJSON_GetObjectItem(p, "gppVersion")->valuestring, "1.1");
    cr_assert_eq(cJSON_GetObjectItem(p, "cmpId")->valueint, 42);
    cr_assert_str_eq(cJSON_GetObjectItem(p, "gppString")->valuestring, out);
    s = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "supportedAPIs"));
    cr_assert_str_eq(s, "[\"8:usca\"]");
    cJSON_free(s);
    s = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "applicableSections"));
    cr_assert_str_eq(s, "[8]");
    cJSON_free(s);
    s = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "sectionList"));
    cr_assert_str_eq(s, "[8]");
    cJSON_free(s);
    usca = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "parsedSections"), "usca");
    cr_assert_not_null(usca);
    cr_assert_str_eq(usca->child->string, "Version");
    cr_assert_eq(cJSON_GetObjectItem(usca, "SaleOptOut")->valueint, 1);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(usca, "SensitiveDataProcessing")), 9);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(usca, "KnownChildSensitiveDataConsents")), 2);
    f = cJSON_GetArrayItem(usca, cJSON_GetArraySize(usca) - 2);
    cr_assert_str_eq(f->string, "GpcSegmentType");
    cr_assert_eq(f->valueint, 1);
    cr_assert_str_eq(f->next->string, "Gpc");
    cr_assert(cJSON_IsTrue(f->next));
    cJSON_Delete(p);
}

Test(decision_gpp, a_section_without_gpc_has_no_gpc_fields)
{
    int on[3] = {1, 1, 1};
    char out[GPP_MAX_STRING + 1];
    cJSON *p, *usva;

    cr_assert_eq(decision_gpp(&site, GPP_USVA, 1, on, out, sizeof(out)), 0);
    p = decision_gpp_ping(out, GPP_USVA, 1);
    usva = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "parsedSections"), "usva");
    cr_assert_not_null(usva);
    cr_assert_eq(cJSON_GetObjectItem(usva, "SaleOptOut")->valueint, 2);
    cr_assert_null(cJSON_GetObjectItem(usva, "Gpc"));
    cr_assert_null(cJSON_GetObjectItem(usva, "GpcSegmentType"));
    cJSON_Delete(p);
}

Test(decision_gpp, without_a_section_the_ping_says_minus_one_and_the_empty_header)
{
    cJSON *p = decision_gpp_ping(NULL, 0, 7);
    char *s;

    cr_assert_not_null(p);
    cr_assert_str_eq(cJSON_GetObjectItem(p, "gppString")->valuestring, "DBAA");
    cr_assert_eq(cJSON_GetObjectItem(p, "cmpId")->valueint, 7);
    s = cJSON_PrintUnformatted(p);
    cr_assert(strstr(s, "\"applicableSections\":[-1]") != NULL, "%s", s);
    cr_assert(strstr(s, "\"supportedAPIs\":[]") != NULL, "%s", s);
    cr_assert(strstr(s, "\"sectionList\":[]") != NULL, "%s", s);
    cr_assert(strstr(s, "\"parsedSections\":{}") != NULL, "%s", s);
    cr_assert(strstr(s, "\"cmpStatus\":\"loaded\",\"cmpDisplayStatus\":\"disabled\","
                        "\"signalStatus\":\"ready\"") != NULL, "%s", s);
    cJSON_free(s);
    cJSON_Delete(p);
}

Test(decision_gpp, a_string_the_decoder_refuses_has_no_ping)
{
    cr_assert_null(decision_gpp_ping("DBABBg~not-a-section", GPP_USCA, 1));
    cr_assert_null(decision_gpp_ping("", GPP_USCA, 1));
}
