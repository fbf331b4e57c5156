/*
 * defconf.c - the built-in config vantaged runs when no config file exists
 * at all: it probes the agent itself and localhost, and has one demo
 * route, so `make demo` shows a live agent on a fresh machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vantaged.h"

const char defconf_text[] =
    "; built-in demo config of vantaged (see vantaged.conf(5))\n"
    "[agent]\n"
    "retention = 7d\n"
    "[api]\n"
    "listen = 127.0.0.1:7787\n"
    "[haproxy]\n"
    "listen = 127.0.0.1:7788\n"
    "[probe \"agent-api\"]\n"
    "type = http\n"
    "target = http://127.0.0.1:7787/v1/health\n"
    "interval = 5s\n"
    "timeout = 2s\n"
    "expect_body = \"status\":\"ok\"\n"
    "max_latency = 200ms\n"
    "[probe \"agent-tcp\"]\n"
    "type = tcp\n"
    "target = 127.0.0.1:7787\n"
    "interval = 5s\n"
    "[probe \"localhost-ping\"]\n"
    "type = icmp\n"
    "target = 127.0.0.1\n"
    "interval = 10s\n"
    "[route \"demo\"]\n"
    "probe = agent-api\n";

char *
defconf_data_dir(void)
{
	const char	*xdg, *home;
	char		*dir;

	/* an explicit XDG_STATE_HOME wins, even for root (make demo) */
	if ((xdg = getenv("XDG_STATE_HOME")) != NULL && xdg[0] == '/')
		xasprintf(&dir, "%s/vantage", xdg);
	else if (geteuid() == 0)
		dir = xstrdup("/var/lib/vantage");
	else if ((home = getenv("HOME")) != NULL && home[0] == '/')
		xasprintf(&dir, "%s/.local/state/vantage", home);
	else
		xasprintf(&dir, "/tmp/vantage-%u", (unsigned)geteuid());
	return dir;
}
