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
	OPT_CSV,
	OPT_ACTOR,
	OPT_ACTION,
	OPT_ROUTE,
	OPT_SINCE,
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
#define O_CSV		0x400
#define O_FILTER	0x800	/* --actor --action --route --since */
#define O_ADD		0x1000	/* --token-file --ca */

#define VANTAGE_MAX_ROUTES	256	/* of one request (the agent's cap) */

/*
 * The subcommands: a fleet command runs with every configured agent
 * being fetched, an edit command on the configuration file alone.
 */
static const struct vantage_cmd {
	const char	*name;
	const char	*sub;		/* the second word, or NULL */
	int		 min_args;	/* words after the name */
	int		 max_args;
	const char	*args;		/* "takes ..." */
	int		 routes;	/* args after the first are routes */
	int		 opts;
	int		 (*run)(struct fleet *, char *const *, int,
			    const struct cli_opts *);
	int		 (*edit)(const char *, char *const *, int,
			    const struct cli_opts *);
} vantage_cmds[] = {
	{ "status", NULL, 0, 0, "no arguments", 0, O_JSON | O_CSV,
	    cli_status, NULL },
	{ "probes", NULL, 0, 1, "at most one agent", 0, O_JSON | O_CSV,
	    cli_probes, NULL },
	{ "routes", NULL, 0, 0, "no arguments", 0, O_JSON | O_CSV,
	    cli_routes, NULL },
	{ "audit", NULL, 0, 0, "no arguments", 0, O_JSON | O_CSV | O_VERIFY |
	    O_LIMIT | O_FILTER, cli_audit, NULL },
	{ "drain", NULL, 2, VANTAGE_MAX_ROUTES + 1, "an agent and one or more "
	    "routes", 1, O_JSON | O_REASON | O_TTL | O_NO_TTL | O_MAINT |
	    O_FORCE | O_UPDATE | O_TIMEOUT, cli_drain, NULL },
	{ "undrain", NULL, 2, VANTAGE_MAX_ROUTES + 1, "an agent and one or "
	    "more routes", 1, O_JSON | O_REASON | O_TIMEOUT, cli_undrain,
	    NULL },
	{ "agent", "add", 2, 2, "a name and a URL", 0, O_ADD, NULL,
	    cli_agent_add },
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
	    "       vantage [-c file] [--agent url]... status|routes "
	    "[--json | --csv]\n"
	    "       vantage [-c file] [--agent url]... probes [agent] "
	    "[--json | --csv]\n"
	    "       vantage [-c file] [--agent url]... audit [--json | --csv] "
	    "[--verify] [--limit n]\n"
	    "                [--actor name] [--action action] [--route route] "
	    "[--since duration]\n"
	    "       vantage [-c file] drain agent route... --reason text\n"
	    "                [--ttl duration | --no-ttl] [--maint] [--force] "
	    "[--update]\n"
	    "                [--timeout duration] [--settle duration] "
	    "[--json]\n"
	    "       vantage [-c file] undrain agent route... --reason text\n"
	    "                [--timeout duration] [--settle duration] "
	    "[--json]\n"
	    "       vantage [-c file] agent add name url --token-file file "
	    "[--ca file]\n"
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
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "actor", required_argument, NULL, OPT_ACTOR },
		{ "action", required_argument, NULL, OPT_ACTION },
		{ "route", required_argument, NULL, OPT_ROUTE },
		{ "since", required_argument, NULL, OPT_SINCE },
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
			urls[nargs].opt = ch;
			urls[nargs++].val = optarg;
			break;
		case OPT_CA:
		case OPT_TOKEN_FILE:
			/* after an --agent: for it; else for agent add */
			if (nurls > 0) {
				urls[nargs].opt = ch;
				urls[nargs++].val = optarg;
			} else if (ch == OPT_CA)
				o.ca = optarg;
			else
				o.token_file = optarg;
			if (nurls == 0)
				given |= O_ADD;
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
			if (cli_duration("--ttl", optarg, 1000, 30LL * 86400000,
			    &o.ttl_ms, err, sizeof(err)) == -1)
				usage(err, 2);
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
			if (cli_duration("--timeout", optarg, 500, 300000,
			    &o.timeout_ms, err, sizeof(err)) == -1)
				usage(err, 2);
			given |= O_TIMEOUT;
			break;
		case OPT_SETTLE:
			if (cli_duration("--settle", optarg, 0, 3600000,
			    &o.settle_ms, err, sizeof(err)) == -1)
				usage(err, 2);
			given |= O_TIMEOUT;
			break;
		case OPT_SINCE:
			if (cli_duration("--since", optarg, 1000,
			    366LL * 86400000, &o.since_ms, err,
			    sizeof(err)) == -1)
				usage(err, 2);
			given |= O_FILTER;
			break;
		case OPT_CSV:
			o.csv = 1;
			given |= O_CSV;
			break;
		case OPT_ACTOR:
			o.actor = optarg;
			given |= O_FILTER;
			break;
		case OPT_ACTION:
			o.action = optarg;
			given |= O_FILTER;
			break;
		case OPT_ROUTE:
			o.route = optarg;
			given |= O_FILTER;
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
			if (strcmp(argv[0], vantage_cmds[i].name) == 0 &&
			    (vantage_cmds[i].sub == NULL || (argc > 1 &&
			    strcmp(argv[1], vantage_cmds[i].sub) == 0)))
				cmd = &vantage_cmds[i];
		}
		if (cmd == NULL) {
			snprintf(err, sizeof(err), "unknown command '%.64s%s"
			    "%.64s'", argv[0], argc > 1 ? " " : "", argc > 1 ?
			    argv[1] : "");
			usage(err, 2);
		}
		/* from here on argv[0] is the command's last word */
		if (cmd->sub != NULL) {
			argc--;
			argv++;
		}
		if (argc - 1 > cmd->max_args && cmd->routes) {
			snprintf(err, sizeof(err), "at most %d routes in one "
			    "%s", VANTAGE_MAX_ROUTES, cmd->name);
			usage(err, 2);
		}
		if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
			snprintf(err, sizeof(err), "%s%s%s takes %s",
			    cmd->name, cmd->sub != NULL ? " " : "",
			    cmd->sub != NULL ? cmd->sub : "", cmd->args);
			usage(err, 2);
		}
		for (i = 2; cmd->routes && i < (size_t)argc; i++) {
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
	if ((given & O_ADD) && (cmd == NULL || !(cmd->opts & O_ADD)))
		usage(o.ca != NULL ? "--ca goes after the --agent it is for" :
		    "--token-file goes after the --agent it is for", 2);
	if ((given & ~(cmd != NULL ? cmd->opts : 0)) != 0) {
		snprintf(err, sizeof(err), "an option does not apply to %s",
		    cmd != NULL ? cmd->name : "the TUI");
		usage(err, 2);
	}
	if ((given & O_TTL) && (given & O_NO_TTL))
		usage("--ttl and --no-ttl exclude each other", 2);
	if (given & O_NO_TTL)
		o.ttl_ms = 0;
	if (o.json && o.csv)
		usage("--json and --csv exclude each other", 2);
	if (o.csv && o.verify)
		usage("--verify prints no table: use it without --csv", 2);
	/* an update may keep the reason it changes nothing else of */
	if (cmd != NULL && (cmd->opts & O_REASON) && o.reason == NULL &&
	    !o.update)
		usage("--reason is required: the audit log keeps it", 2);
	if (o.reason != NULL && (o.reason[0] == '\0' ||
	    strlen(o.reason) > 500))
		usage("--reason: 1 to 500 bytes", 2);

	/* a command on the configuration file itself: no agent is asked */
	if (cmd != NULL && cmd->edit != NULL) {
		if (nurls > 0)
			usage("--agent does not apply to a command on the "
			    "configuration file", 2);
		free(urls);
		return cmd->edit(cfile, argv + 1, argc - 1, &o);
	}

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
	else
		rc = cmd->run(fl, argv + 1, argc - 1, &o);
	fleet_free(fl);
	conf_free(conf);
	fflush(stdout);
	if (ferror(stdout))
		rc = 1;
	return rc;
}
