/*
 * test_console_conf.c - vantage.conf: agents and [console] settings,
 * errors with file:line, indented keys, token secrecy and --agent URLs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vantage.h"

static char dir[] = "/tmp/vt-test-cconf.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/vt-test-cconf.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
put(const char *name, const char *text, mode_t mode)
{
	static char	path[256];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static struct conf *
load(const char *text, mode_t mode, char *err, size_t errlen)
{
	struct conf	*c = conf_new();

	err[0] = '\0';
	/* an agent entry's error (1) counts as one here too */
	if (conf_load(c, put("v.conf", text, mode), err, errlen) != 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

static void
test_full(void **state)
{
	struct conf	*c;
	char		 err[2048], text[1024];

	(void)state;
	put("tok", "  vt_secret \n", 0600);
	snprintf(text, sizeof(text),
	    "; comment\n"
	    "[console]\n"
	    "  refresh = 500ms\n"
	    "  timeout = 3s\n"
	    "  max_body = 1M\n"
	    "  color = no\n"
	    "[agent \"web-01\"]\n"
	    "\turl = https://web-01.example.com:7787/\n"
	    "\ttoken_file = %s/tok\n"
	    "\tssh = ops@bastion:2222\n"
	    "[agent \"v6\"]\n"
	    "url = http://[::1]:7787\n"
	    "token = vt_inline\n", dir);
	c = load(text, 0600, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->refresh_ms, 500);
	assert_int_equal(c->timeout_ms, 3000);
	assert_int_equal(c->connect_timeout_ms, 2000);
	assert_int_equal(c->max_body, 1024 * 1024);
	assert_int_equal(c->color, 0);
	assert_int_equal(c->unicode, -1);
	assert_int_equal(c->n_agents, 2);
	assert_string_equal(c->agents[0]->url, "https://web-01.example.com:7787");
	assert_string_equal(c->agents[0]->host, "web-01.example.com");
	assert_int_equal(c->agents[0]->port, 7787);
	assert_string_equal(c->agents[0]->token, "vt_secret");
	assert_string_equal(c->agents[0]->ssh, "ops@bastion:2222");
	assert_string_equal(c->agents[1]->host, "::1");
	assert_string_equal(c->agents[1]->token, "vt_inline");
	assert_non_null(conf_find_agent(c, "v6"));
	conf_free(c);
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} cases[] = {
		{ "[agent \"a\"]\nurl = http://h\nfoo = 1\n",
		    "v.conf:3: unknown key 'foo'" },
		{ "url = http://h\n", "v.conf:1: 'url' is outside" },
		{ "[agent \"a\"]\n", "v.conf:1: agent 'a' has no url" },
		{ "[agent \"a\"]\nurl = http://h\n[agent \"a\"]\nurl = http://h\n",
		    "v.conf:3: duplicate agent 'a' (first defined at line 1)" },
		{ "[agent a]\n", "v.conf:1: [agent] needs a quoted name" },
		{ "[agent \"a b\"]\n", "v.conf:1: bad agent name 'a b'" },
		{ "[probe \"x\"]\n", "v.conf:1: unknown section" },
		{ "[agent \"a\"]\nurl = gopher://h\n", "v.conf:2: 'gopher://h':"
		    " only http:// and https://" },
		{ "[agent \"a\"]\nurl = http://u:p@h\n",
		    "v.conf:2: 'http://u:p@h': put credentials" },
		{ "[agent \"a\"]\nurl = http://h\nurl = http://i\n",
		    "v.conf:3: duplicate key 'url' (first set at line 2)" },
		{ "[console]\nrefresh = soon\n", "v.conf:2: refresh: 'soon' is "
		    "not a duration" },
		{ "[console]\nrefresh = 10ms\n", "v.conf:2: refresh must be "
		    "between" },
		{ "[console]\ncolor = maybe\n", "v.conf:2: color: expected auto" },
		{ "[agent \"a\"]\nurl = http://h\ntoken = x\ntoken_file = /y\n",
		    "v.conf:4: use token or token_file, not both" },
		{ "[agent \"a\"]\nurl = http://h\ntoken_file = /nonexistent\n",
		    "v.conf:3: token_file: /nonexistent: No such file" },
		{ "[agent \"a\"]\nurl = http://h\ncert = /etc/hostname\n",
		    "agent 'a': cert and key go together" },
		{ "[agent \"a\"]\nurl = http://h\nssh = -oProxyCommand=x\n",
		    "v.conf:3: ssh: '-oProxyCommand=x' is not" },
		{ "[console]\nnonsense\n", "v.conf:2: syntax error" },
	};
	struct conf	*c;
	char		 err[2048];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = load(cases[i].text, 0600, err, sizeof(err));
		if (c != NULL || strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: expected '%s', got '%s'", i,
			    cases[i].err, c != NULL ? "success" : err);
	}
}

static void
test_secrecy(void **state)
{
	struct conf	*c;
	char		 err[2048], text[512];

	(void)state;
	/* an inline token in a file others can read */
	c = load("[agent \"a\"]\nurl = http://h\ntoken = vt_x\n", 0644, err,
	    sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "v.conf:3: "));
	assert_non_null(strstr(err, "readable by others (mode 644); run "
	    "chmod 600"));
	/* without a token the mode does not matter */
	c = load("[agent \"a\"]\nurl = http://h\n", 0644, err, sizeof(err));
	assert_non_null(c);
	conf_free(c);
	/* a token file others can read */
	put("tok", "vt_y\n", 0640);
	snprintf(text, sizeof(text), "[agent \"a\"]\nurl = http://h\n"
	    "token_file = %s/tok\n", dir);
	c = load(text, 0600, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "v.conf:3: token_file: "));
	assert_non_null(strstr(err, "chmod 600"));
	put("tok", "\n", 0600);
	c = load(text, 0600, err, sizeof(err));
	assert_null(c);
	assert_non_null(strstr(err, "no token on the first line"));
}

static void
test_add_url(void **state)
{
	struct conf	*c = conf_new();
	char		 err[512];

	(void)state;
	setenv("VANTAGE_TOKEN", "vt_env", 1);
	assert_int_equal(conf_add_url(c, "http://127.0.0.1:7787", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_add_url(c, "http://127.0.0.1:7787/", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_add_url(c, "web=https://web:1/base", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_add_url(c, "http://[::1]:9", err,
	    sizeof(err)), 0);
	assert_int_equal(c->n_agents, 4);
	assert_string_equal(c->agents[0]->name, "127.0.0.1:7787");
	assert_string_equal(c->agents[1]->name, "127.0.0.1:7787#2");
	assert_string_equal(c->agents[2]->name, "web");
	assert_string_equal(c->agents[2]->url, "https://web:1/base");
	assert_string_equal(c->agents[3]->name, "[::1]:9");
	assert_string_equal(c->agents[0]->token, "vt_env");
	assert_int_equal(conf_add_url(c, "web=http://x", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "defined twice"));
	assert_int_equal(conf_add_url(c, "not a url", err, sizeof(err)), -1);
	assert_int_equal(conf_add_url(c, "b@d=http://x", err, sizeof(err)),
	    -1);
	unsetenv("VANTAGE_TOKEN");
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_secrecy),
		cmocka_unit_test(test_add_url),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
