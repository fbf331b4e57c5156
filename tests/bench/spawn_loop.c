/*
 * spawn_loop.c - the baseline for bench_exec.sh: the least a program can
 * do to run a plugin N times at RATE per second: posix_spawn with stdout
 * into a pipe, read it, waitpid; prints the CPU it spent itself per run
 * (getrusage RUSAGE_SELF: the children's own CPU is not counted, as it
 * is not in vantaged's figure either).
 *
 *   spawn_loop N RATE PLUGIN [ARGS...]
 *
 * Prints one line:  runs=N failed=N wall_s=S cpu_us_per_run=X
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
main(int argc, char **argv)
{
	char *envp[] = { "PATH=/usr/bin:/bin", "LANG=C", NULL };
	posix_spawn_file_actions_t	fa;
	struct rusage			ru;
	long long			t0, due, t;
	char				buf[4096];
	long				n, rate, i, failed = 0;
	pid_t				pid;
	int				p[2], st;

	if (argc < 4) {
		fprintf(stderr, "usage: spawn_loop N RATE PLUGIN [ARGS...]\n");
		return 2;
	}
	n = atol(argv[1]);
	rate = atol(argv[2]);
	t0 = now_us();
	for (i = 0; i < n; i++) {
		due = t0 + i * 1000000 / rate;
		if ((t = now_us()) < due)
			usleep((useconds_t)(due - t));
		if (pipe2(p, O_CLOEXEC) == -1)
			return 1;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
		    0);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, envp) != 0) {
			failed++;
			close(p[0]);
			close(p[1]);
			posix_spawn_file_actions_destroy(&fa);
			continue;
		}
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		while (read(p[0], buf, sizeof(buf)) > 0)
			;
		close(p[0]);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("runs=%ld failed=%ld wall_s=%.2f cpu_us_per_run=%.1f\n", n,
	    failed, (now_us() - t0) / 1e6,
	    ((double)ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec) / n);
	return 0;
}
