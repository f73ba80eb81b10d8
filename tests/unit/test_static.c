/* The static files' include expansion: the pages' shared head, header and footer (web/_*.html
 * partials) are expanded once at load; partials are not served; a missing, recursive or
 * malformed include fails the load with a clear error. */
#include "unit.h"

#include <sys/stat.h>

#include "http/static.h"

static char root[64];

static void put(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *fp = fopen(path, "w");
    CHECK(fp);
    fputs(text, fp);
    fclose(fp);
}

static void mkroot(void)
{
    snprintf(root, sizeof root, "/tmp/sev-static-XXXXXX");
    CHECK(mkdtemp(root));
}

static void rmroot(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
}

/* Loads root; returns the error message ("" when it loaded) and frees what it loaded. */
static const char *load_error(void)
{
    static struct err err;
    memset(&err, 0, sizeof err);
    struct static_files *sf = NULL;
    if (static_load(root, &sf, &err) == 0) {
        static_free(sf);
        return "";
    }
    return err.msg;
}

static void test_include_expanded(void)
{
    mkroot();
    put("_head.html", "<meta charset=\"utf-8\">\n<!--#include file=\"_css.html\"-->\n");
    put("_css.html", "<link rel=\"stylesheet\" href=\"/a.css\">\n");
    put("_nav.html", "<a class=\"brand\" href=\"/\">SEV</a>\n<ul><li><a href=\"/\">Home</a></li>"
                     "<li><a href=\"/stats\">Stats</a></li></ul>\n");
    put("page.html", "<head>\n<!--#include file=\"_head.html\"-->\n<title>t</title>\n</head>\n"
                     "<!--#include file=\"_nav.html\" current=\"/stats\"-->\n<p>x</p>\n");
    put("home.html", "<!--#include file=\"_nav.html\" current=\"/\"-->\n");
    put("plain.html", "<p>no includes</p>\n");
    struct static_files *sf = NULL;
    struct err err = {{0}};
    CHECK(static_load(root, &sf, &err) == 0);
    size_t n = 0;
    CHECK_STR(static_get(sf, "/page.html", &n),
              "<head>\n<meta charset=\"utf-8\">\n<link rel=\"stylesheet\" href=\"/a.css\">\n"
              "<title>t</title>\n</head>\n"
              "<a class=\"brand\" href=\"/\">SEV</a>\n<ul><li><a href=\"/\">Home</a></li>"
              "<li><a href=\"/stats\" aria-current=\"page\">Stats</a></li></ul>\n<p>x</p>\n");
    CHECK_INT(n, strlen(static_get(sf, "/page.html", NULL)));
    /* only the navigation link is marked, not the brand link with the same href */
    CHECK_STR(static_get(sf, "/home.html", NULL),
              "<a class=\"brand\" href=\"/\">SEV</a>\n<ul><li><a href=\"/\" aria-current=\"page\">"
              "Home</a></li><li><a href=\"/stats\">Stats</a></li></ul>\n");
    CHECK_STR(static_get(sf, "/plain.html", NULL), "<p>no includes</p>\n");
    /* partials are not served */
    CHECK(static_get(sf, "/_nav.html", NULL) == NULL);
    CHECK(static_get(sf, "/_head.html", NULL) == NULL);
    CHECK_INT(static_count(sf), 3);
    static_free(sf);
    rmroot();
}

static void test_include_missing(void)
{
    mkroot();
    put("page.html", "<!--#include file=\"_nav.html\"-->\n");
    const char *msg = load_error();
    CHECK(strstr(msg, "/page.html includes _nav.html, which is not in the web root"));
    rmroot();
}

static void test_include_recursive(void)
{
    mkroot();
    put("_a.html", "a<!--#include file=\"_b.html\"-->");
    put("_b.html", "b<!--#include file=\"_a.html\"-->");
    put("page.html", "<!--#include file=\"_a.html\"-->\n");
    CHECK(strstr(load_error(), "/page.html: recursive include of _a.html"));
    put("_a.html", "a<!--#include file=\"_a.html\"-->");
    CHECK(strstr(load_error(), "recursive include of _a.html"));
    rmroot();
}

static void test_include_malformed(void)
{
    mkroot();
    put("_nav.html", "<a href=\"/\">Home</a>");
    put("page.html", "<!--#include file=\"_nav.html\"");
    CHECK(strstr(load_error(), "/page.html: malformed include"));
    put("page.html", "<!--#include virtual=\"/etc/passwd\"-->");
    CHECK(strstr(load_error(), "/page.html: malformed include"));
    put("page.html", "<!--#include file=\"../x.html\"-->");
    CHECK(strstr(load_error(), "/page.html: malformed include"));
    put("page.html", "<!--#include file=\"page.html\"-->");
    CHECK(strstr(load_error(), "only _*.html partials can be included"));
    put("page.html", "<!--#include file=\"_nav.html\" current=\"/nowhere\"-->");
    CHECK(strstr(load_error(), "_nav.html has no link <a href=\"/nowhere\">"));
    put("page.html", "<!--#include file=\"_nav.html\" current=\"/\"-->");
    CHECK_STR(load_error(), "");
    rmroot();
}

/* The real web/ loads, and every page has its includes expanded. */
static void test_web_pages(void)
{
    struct static_files *sf = NULL;
    struct err err = {{0}};
    CHECK(static_load("web", &sf, &err) == 0);
    const char *pages[] = {"/index.html", "/streamer.html", "/analytics.html", "/account.html",
                           "/404.html", "/error.html"};
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        const char *p = static_get(sf, pages[i], NULL);
        CHECK(p);
        CHECK(!strstr(p, "<!--#"));
        CHECK(strstr(p, "<meta charset=\"utf-8\">"));
        CHECK(strstr(p, "<header class=\"site-header\">"));
        CHECK(strstr(p, "<footer class=\"site-footer\">"));
    }
    CHECK(strstr(static_get(sf, "/analytics.html", NULL),
                 "<a href=\"/analytics\" aria-current=\"page\">"));
    CHECK(!strstr(static_get(sf, "/streamer.html", NULL), "aria-current"));
    static_free(sf);
}

static const struct unit_test tests[] = {
    {"static: includes expanded once at load, current link marked, partials not served",
     test_include_expanded},
    {"static: a missing include fails the load", test_include_missing},
    {"static: a recursive include fails the load", test_include_recursive},
    {"static: a malformed include fails the load", test_include_malformed},
    {"static: web/ pages have their head, header and footer", test_web_pages},
    {0},
};

UNIT_MAIN(tests)
