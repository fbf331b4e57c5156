/*
 * vantage.c - the operator console: options, configuration, then either
 * the TUI (ui.c) or one CLI subcommand (cli.c).
 */
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vantage.h"

enum {
	OPT_AGENT = 256,
	OPT_JSON,
	OPT_REASON,
	OPT_TTL,
	OPT_MAINT,
	OPT_FORCE,
	OPT_VERIFY,
	OPT_LIMIT,
	OPT_NO_TTL,
	OPT_UPDATE,
	OPT_TIMEOUT,
	OPT_SETTLE,
	OPT_CA,
	OPT_TOKEN_FILE
};

/* --agent, --ca and --token-file in their order: the last two apply to
 * the --agent before them. */
struct vantage_arg {
	int		 opt;
	const char	*val;
};

/* Which options a subcommand takes, so a misplaced one is a usage error. */
#define O_JSON		0x01
#define O_REASON	0x02
#define O_TTL		0x04
#define O_MAINT		0x08
#define O_FORCE		0x10
#define O_VERIFY	0x20
#define O_LIMIT		0x40
#define O_NO_TTL	0x80
#define O_UPDATE	0x100
#define O_TIMEOUT	0x200	/* --timeout and --settle */

#define VANTAGE_MAX_ROUTES	256	/* of one request (the agent's cap) */

static const struct vantage_cmd {
	const char	*name;
	int		 nargs;		/* AGENT ROUTE... */
	int		 opts;
	int		 (*list)(struct fleet *, const struct cli_opts *);
	int		 (*change)(struct fleet *, const char *, char *const *,
			    int, const struct cli_opts *);
} vantage_cmds[] = {
	{ "status", 0, O_JSON, cli_status, NULL },
	{ "probes", 0, O_JSON, cli_probes, NULL },
	{ "routes", 0, O_JSON, cli_routes, NULL },
	{ "audit", 0, O_JSON | O_VERIFY | O_LIMIT, cli_audit, NULL },
	{ "drain", 2, O_JSON | O_REASON | O_TTL | O_NO_TTL | O_MAINT |
	    O_FORCE | O_UPDATE | O_TIMEOUT, NULL, cli_drain },
	{ "undrain", 2, O_JSON | O_REASON | O_TIMEOUT, NULL, cli_undrain },
};

static void __attribute__((noreturn))
usage(const char *why, int rc)
{
	FILE	*out = rc == 0 ? stdout : stderr;

	if (why != NULL)
		fprintf(stderr, "vantage: %s\n", why);
	fprintf(out,
	    "usage: vantage [-n] [-c file] [--agent [name=]url [--ca file] "
	    "[--token-file file]]...\n"
	    "       vantage [-c file] [--agent url]... status|probes|routes "
	    "[--json]\n"
	    "       vantage [-c file] [--agent url]... audit [--json] "
	    "[--verify] [--limit n]\n"
	    "       vantage [-c file] drain agent route... --reason text\n"
	    "                [--ttl duration | --no-ttl] [--maint] [--force] "
	    "[--update]\n"
	    "                [--timeout duration] [--settle duration] "
	    "[--json]\n"
	    "       vantage [-c file] undrain agent route... --reason text\n"
	    "                [--timeout duration] [--settle duration] "
	    "[--json]\n"
	    "  -n  check the configuration, report every error, exit\n");
	exit(rc);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "maint", no_argument, NULL, OPT_MAINT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "no-ttl", no_argument, NULL, OPT_NO_TTL },
		{ "update", no_argument, NULL, OPT_UPDATE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "settle", required_argument, NULL, OPT_SETTLE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct vantage_cmd	*cmd = NULL;
	struct cli_opts			 o;
	struct conf			*conf;
	struct fleet			*fl;
	const char			*cfile = NULL;
	struct vantage_arg		*urls;
	struct conf_agent		*ag = NULL;
	char				 err[8192], *path;
	int				 ch, nurls = 0, nargs = 0, given = 0, rc;
	int				 check = 0;
	size_t				 i;

	setlocale(LC_ALL, "");
	log_init("vantage", 0);
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	o.ttl_ms = -1;
	o.settle_ms = -1;
	urls = xcalloc((size_t)argc + 1, sizeof(*urls));
	while ((ch = getopt_long(argc, argv, "c:nhV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case OPT_AGENT:
			nurls++;
			/* FALLTHROUGH */
		case OPT_CA:
		case OPT_TOKEN_FILE:
			if (nurls == 0)
				usage(ch == OPT_CA ? "--ca goes after the "
				    "--agent it is for" : "--token-file goes "
				    "after the --agent it is for", 2);
			urls[nargs].opt = ch;
			urls[nargs++].val = optarg;
			break;
		case OPT_JSON:
			o.json = 1;
			given |= O_JSON;
			break;
		case OPT_REASON:
			o.reason = optarg;
			given |= O_REASON;
			break;
		case OPT_TTL:
			if (parse_duration_ms(optarg, &o.ttl_ms, err,
			    sizeof(err)) == -1 || o.ttl_ms < 1000 ||
			    o.ttl_ms > 30LL * 86400000)
				usage("--ttl: expected a duration from 1s to "
				    "30d, e.g. 30m", 2);
			given |= O_TTL;
			break;
		case OPT_NO_TTL:
			given |= O_NO_TTL;
			break;
		case OPT_UPDATE:
			o.update = 1;
			given |= O_UPDATE;
			break;
		case OPT_TIMEOUT:
			if (parse_duration_ms(optarg, &o.timeout_ms, err,
			    sizeof(err)) == -1 || o.timeout_ms < 500 ||
			    o.timeout_ms > 300000)
				usage("--timeout: expected a duration from "
				    "500ms to 5m, e.g. 3s", 2);
			given |= O_TIMEOUT;
			break;
		case OPT_SETTLE:
			if (parse_duration_ms(optarg, &o.settle_ms, err,
			    sizeof(err)) == -1 || o.settle_ms < 0 ||
			    o.settle_ms > 3600000)
				usage("--settle: expected a duration from 0s "
				    "to 1h, e.g. 10s", 2);
			given |= O_TIMEOUT;
			break;
		case OPT_MAINT:
			o.maint = 1;
			given |= O_MAINT;
			break;
		case OPT_FORCE:
			o.force = 1;
			given |= O_FORCE;
			break;
		case OPT_VERIFY:
			o.verify = 1;
			given |= O_VERIFY;
			break;
		case OPT_LIMIT:
			if (parse_long(optarg, 1, 1000000, &o.limit, err,
			    sizeof(err)) == -1)
				usage("--limit: expected a number from 1 to "
				    "1000000", 2);
			given |= O_LIMIT;
			break;
		case 'V':
			printf("vantage %s\n", VANTAGE_VERSION);
			free(urls);
			return 0;
		case 'h':
			free(urls);
			usage(NULL, 0);
		default:
			usage(NULL, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0) {
		for (i = 0; i < sizeof(vantage_cmds) / sizeof(vantage_cmds[0]);
		    i++) {
			if (strcmp(argv[0], vantage_cmds[i].name) == 0)
				cmd = &vantage_cmds[i];
		}
		if (cmd == NULL) {
			snprintf(err, sizeof(err), "unknown command '%.64s'",
			    argv[0]);
			usage(err, 2);
		}
		if (cmd->nargs == 0 ? argc != 1 : argc - 1 < cmd->nargs) {
			snprintf(err, sizeof(err), "%s takes %s", cmd->name,
			    cmd->nargs ? "an agent and one or more routes" :
			    "no arguments");
			usage(err, 2);
		}
		if (argc - 2 > VANTAGE_MAX_ROUTES) {
			snprintf(err, sizeof(err), "at most %d routes in one "
			    "%s", VANTAGE_MAX_ROUTES, cmd->name);
			usage(err, 2);
		}
		for (i = 2; cmd->nargs > 0 && i < (size_t)argc; i++) {
			for (size_t k = 2; k < i; k++) {
				if (strcmp(argv[i], argv[k]) == 0) {
					snprintf(err, sizeof(err), "route "
					    "'%.64s' is named twice", argv[i]);
					usage(err, 2);
				}
			}
		}
	}
	if (check && cmd != NULL)
		usage("-n checks the configuration and takes no command", 2);
	if ((given & ~(cmd != NULL ? cmd->opts : 0)) != 0) {
		snprintf(err, sizeof(err), "an option does not apply to %s",
		    cmd != NULL ? cmd->name : "the TUI");
		usage(err, 2);
	}
	if ((given & O_TTL) && (given & O_NO_TTL))
		usage("--ttl and --no-ttl exclude each other", 2);
	if (given & O_NO_TTL)
		o.ttl_ms = 0;
	/* an update may keep the reason it changes nothing else of */
	if (cmd != NULL && (cmd->opts & O_REASON) && o.reason == NULL &&
	    !o.update)
		usage("--reason is required: the audit log keeps it", 2);
	if (o.reason != NULL && (o.reason[0] == '\0' ||
	    strlen(o.reason) > 500))
		usage("--reason: 1 to 500 bytes", 2);

	conf = conf_new();
	if (cfile == NULL && nurls == 0) {
		if ((path = conf_default_path()) == NULL) {
			fprintf(stderr, "vantage: no configuration: create "
			    "~/.config/vantage/vantage.conf (see "
			    "vantage.conf(5)) or use --agent URL\n");
			conf_free(conf);
			free(urls);
			return 1;
		}
		rc = conf_load(conf, path, err, sizeof(err));
		free(path);
	} else if (cfile != NULL)
		rc = conf_load(conf, cfile, err, sizeof(err));
	else
		rc = 0;
	/* agent entries with errors are marked (1), the rest runs */
	if (rc == 1 && check) {
		fprintf(stderr, "%s\n", err);
		ch = 1;
	} else
		ch = 0;
	if (rc == 1)
		rc = 0;
	for (i = 0; rc == 0 && i < (size_t)nargs; i++) {
		if (urls[i].opt == OPT_AGENT) {
			rc = conf_add_url(conf, urls[i].val, err, sizeof(err));
			ag = rc == 0 ? conf->agents[conf->n_agents - 1] : NULL;
		} else
			rc = conf_agent_option(ag, urls[i].opt == OPT_CA ?
			    "ca" : "token_file", urls[i].val, err,
			    sizeof(err));
	}
	free(urls);
	if (rc == -1) {
		if (check)
			fprintf(stderr, "%s\nvantage: configuration invalid"
			    "\n", err);
		else
			fprintf(stderr, "vantage: %s\n", err);
		conf_free(conf);
		return 1;
	}
	if (conf->n_agents == 0) {
		fprintf(stderr, "vantage: %s: no [agent] defined\n",
		    conf->file != NULL ? conf->file : "configuration");
		conf_free(conf);
		return 1;
	}

	if (check) {
		if (ch)
			fprintf(stderr, "vantage: configuration invalid\n");
		else
			printf("vantage: %s: configuration OK (%d agents)\n",
			    conf->file != NULL ? conf->file : "command line",
			    conf->n_agents);
		conf_free(conf);
		return ch;
	}
	fl = fleet_new(conf);
	if (cmd == NULL)
		rc = ui_run(fl);
	else if (cmd->list != NULL)
		rc = cmd->list(fl, &o);
	else
		rc = cmd->change(fl, argv[1], argv + 2, argc - 2, &o);
	fleet_free(fl);
	conf_free(conf);
	fflush(stdout);
	if (ferror(stdout))
		rc = 1;
	return rc;
}
