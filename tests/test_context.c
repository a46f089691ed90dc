/* Unit tests for cgi/context.c: the stored state's format, written by a
 * receipt write and read back by the banner decision. */
#include <criterion/criterion.h>
#include <string.h>

#include "../cgi/context.h"

static struct config_category cats[] = {
    {"necessary", 1, 0}, {"analytics", 0, 0}, {"advertising", 0, 1},
};
static char texts[] = "{\"categories\":{\"analytics\":{\"name\":\"Statistik\"}}}";
static struct config_language lang = {.tag = "de", .texts = {texts, texts, texts}};
static char policy[] = "https://shop.example/privacy", version[] = "v7";
static struct config_site site = {
    .id = "shop", .policy_url = policy, .banner_version = version,
    .consent_revision = 3, .categories = cats, .ncategories = 3,
    .controller = {.name = "Shop GmbH", .email = "privacy@shop.example"},
};
static struct regime gdpr = {.id = "gdpr", .model = MODEL_OPT_IN, .consent_days = 180};

static struct context_facts facts(void)
{
    struct context_facts f = {
        .site = &site, .region = "DE", .regime = &gdpr, .lang = &lang,
        .texts_model = MODEL_OPT_IN, .texts_sha256 = "ab12", .variant = NULL,
        .gpp = NULL, .kid = "k1",
    };
    return f;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

    return cJSON_GetStringValue(b != NULL ? cJSON_GetObjectItemCaseSensitive(x, b) : x);
}

Test(context, what_a_write_stores_reads_back_as_the_same_state)
{
    struct context_facts f = facts();
    struct context_state st;
    cJSON *tree;

    cr_assert_eq(context_build(&f, &tree), CONTEXT_OK);
    cr_assert_eq(context_read(tree, "shop", &st), CONTEXT_OK);
    cr_assert_eq(st.model, MODEL_OPT_IN);
    cr_assert_eq(st.consent_revision, 3);
    cJSON_Delete(tree);

    f.texts_model = MODEL_NOTICE;
    site.consent_revision = 4;
    cr_assert_eq(context_build(&f, &tree), CONTEXT_OK);
    cr_assert_eq(context_read(tree, "shop", &st), CONTEXT_OK);
    cr_assert_eq(st.model, MODEL_NOTICE, "the model of the texts shown");
    cr_assert_eq(st.consent_revision, 4);
    cJSON_Delete(tree);
    site.consent_revision = 3;
}

Test(context, the_written_context_names_what_was_asked_and_shown)
{
    struct context_facts f = facts();
    cJSON *tree;

    f.variant = "b";
    f.gpp = "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA";
    f.region = "";
    cr_assert_eq(context_build(&f, &tree), CONTEXT_OK);
    cr_assert_str_eq(str(tree, "site", NULL), "shop");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(tree, "jurisdiction"), "region")));
    cr_assert_str_eq(str(tree, "jurisdiction", "regime"), "gdpr");
    cr_assert_str_eq(str(tree, "banner", "variant"), "b");
    cr_assert_str_eq(str(tree, "banner", "texts_sha256"), "ab12");
    cr_assert_str_eq(str(tree, "language", NULL), "de");
    cr_assert_str_eq(str(tree, "gpp", NULL), f.gpp);
    cr_assert_str_eq(str(tree, "kid", NULL), "k1");
    cr_assert_str_eq(str(tree, "controller", "email"), "privacy@shop.example");
    /* named in the language shown; an id where the texts name nothing */
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(tree, "purposes"), "analytics",
                         "name"), "Statistik");
    cr_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(tree, "purposes"), "advertising",
                         "name"), "advertising");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tree, "categories")), 3);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tree, "consent_days")),
                 180);
    cJSON_Delete(tree);
}

Test(context, without_gpp_or_variant_neither_is_written)
{
    struct context_facts f = facts();
    cJSON *tree;

    cr_assert_eq(context_build(&f, &tree), CONTEXT_OK);
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(tree, "gpp"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(tree, "banner"), "variant"));
    cJSON_Delete(tree);
}

Test(context, another_sites_context_is_refused)
{
    struct context_facts f = facts();
    struct context_state st;
    cJSON *tree;

    cr_assert_eq(context_build(&f, &tree), CONTEXT_OK);
    cr_assert_eq(context_read(tree, "blog", &st), CONTEXT_OTHER_SITE);
    cJSON_Delete(tree);
    tree = cJSON_Parse("{\"banner\":{\"model\":\"opt-in\"}}");
    cr_assert_eq(context_read(tree, "shop", &st), CONTEXT_OTHER_SITE, "no site is no match");
    cJSON_Delete(tree);
}

Test(context, a_context_without_a_known_model_is_malformed)
{
    const char *bad[] = {
        "{}", "{\"site\":\"shop\"}", "{\"site\":\"shop\",\"banner\":{}}",
        "{\"site\":\"shop\",\"banner\":{\"model\":\"opt-maybe\"}}",
        "{\"site\":\"shop\",\"banner\":{\"model\":7}}", "[]",
    };
    struct context_state st;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cJSON *tree = cJSON_Parse(bad[i]);

        cr_assert_eq(context_read(tree, "shop", &st), CONTEXT_MALFORMED, "%s", bad[i]);
        cJSON_Delete(tree);
    }
    cr_assert_eq(context_read(NULL, "shop", &st), CONTEXT_MALFORMED);
}

Test(context, a_missing_revision_reads_as_zero)
{
    struct context_state st;
    cJSON *tree = cJSON_Parse("{\"site\":\"shop\",\"banner\":{\"model\":\"opt-out\"}}");

    cr_assert_eq(context_read(tree, "shop", &st), CONTEXT_OK);
    cr_assert_eq(st.model, MODEL_OPT_OUT);
    cr_assert_eq(st.consent_revision, 0);
    cJSON_Delete(tree);
}

Test(context, every_status_has_a_message)
{
    for (int s = CONTEXT_OK; s <= CONTEXT_NO_MEMORY; s++)
        cr_assert_str_neq(context_strerror(s), "unknown error");
    cr_assert_str_eq(context_strerror(-1), "unknown error");
}
