/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the scenario parser. Runs in tests/sim (meson workdir). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario.h"

static struct sim_scenario s;
static char err[512];

START_TEST(test_builtin)
{
	ck_assert_int_eq(sim_scenario_builtin(&s, "kvm-hour", err, sizeof(err)), 0);
	ck_assert_str_eq(s.name, "kvm-hour");
	ck_assert_int_eq(s.seed, 1);
	ck_assert_int_eq(s.duration_ns, 3600LL * 1000000000);
	ck_assert_int_eq(s.sys_offset_ns, 1500000000);
	ck_assert_double_eq(s.sys_freq_ppm, 50);
	ck_assert_double_eq(s.sys_random_walk_ppb, 1);
	ck_assert_int_eq(s.nphc, 1);
	ck_assert_str_eq(s.phc[0].clock_name, "KVM virtual PTP");
	ck_assert_uint_eq(s.phc[0].ops, SIM_OP_BASIC | SIM_OP_PRECISE);
	ck_assert_int_eq(s.phc[0].noise_ns, 100);
	ck_assert_int_eq(s.phc[0].noise_exp_ns, 150);
	ck_assert_int_ne(sim_scenario_builtin(&s, "nope", err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_example_files)
{
	ck_assert_msg(sim_scenario_load(&s, "scenarios/determinism.scn", err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(s.nphc, 2);
	ck_assert_int_eq(s.nevents, 10);
	ck_assert_int_eq(s.nleaps, 1);
	/* 2017-01-01T00:00:00Z */
	ck_assert_int_eq(s.leap[0].midnight_s, 1483228800);
	ck_assert_int_eq(s.start_s, 1483228770);
	ck_assert(s.phc[0].tai);
	ck_assert(!s.phc[1].tai);
	ck_assert_int_eq(s.phc[1].max_reads_per_s, 125);
	ck_assert_int_eq(s.ev[3].type, SIM_EV_PHC_ERROR);
	ck_assert_int_eq(s.ev[3].err, EIO);
	ck_assert_int_eq(s.ev[4].type, SIM_EV_SUSPEND);
	ck_assert_int_eq(s.ev[4].value_ns, 4500000000LL);
	ck_assert_int_eq(s.ev[6].type, SIM_EV_PHC_FREEZE);
	ck_assert_int_eq(s.ev[7].type, SIM_EV_PHC_BACKSTEP);
	ck_assert_int_eq(s.ev[8].type, SIM_EV_PHC_DELAY_SPIKE);
	ck_assert_int_eq(s.ev[9].err, EINTR);
}
END_TEST

START_TEST(test_events_sorted)
{
	const char *text = "phc vmw 2\n"
			   "at 20 phc_step 2 -1ms\n"
			   "at 5 sys_freq_step 1.5\n"
			   "at 5 suspend 3s inject_error 200ms\n"
			   "at 1m phc_remove 2 10s 4\n";

	ck_assert_msg(sim_scenario_parse(&s, text, "t", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(s.nevents, 4);
	ck_assert_int_eq(s.ev[0].type, SIM_EV_SYS_FREQ_STEP);
	ck_assert_int_eq(s.ev[1].type, SIM_EV_SUSPEND);
	ck_assert(s.ev[1].has_inject);
	ck_assert_int_eq(s.ev[1].inject_ns, 200000000);
	ck_assert_int_eq(s.ev[2].value_ns, -1000000);
	ck_assert_int_eq(s.ev[3].t_ns, 60000000000LL);
	ck_assert_int_eq(s.ev[3].new_index, 4);
	ck_assert_str_eq(s.phc[0].clock_name, "ptp_vmw");
}
END_TEST

/* An exec command is the rest of the line, however many words, in time order. */
START_TEST(test_exec)
{
	const char *text = "at 3s exec  echo a b c d e f g h i j k l m n o p q r s t  \n"
			   "at 1s exec phcsyncctl -j status\t# a comment\n"
			   "at 1s sys_freq_step 1\n";

	ck_assert_msg(sim_scenario_parse(&s, text, "t", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(s.nevents, 3);
	ck_assert_int_eq(s.nexec, 2);
	ck_assert_int_eq(s.ev[0].type, SIM_EV_EXEC);
	ck_assert_str_eq(s.exec[s.ev[0].exec], "phcsyncctl -j status");
	ck_assert_int_eq(s.ev[1].type, SIM_EV_SYS_FREQ_STEP);
	ck_assert_int_eq(s.ev[2].t_ns, 3000000000LL);
	ck_assert_str_eq(s.exec[s.ev[2].exec], "echo a b c d e f g h i j k l m n o p q r s t");
	ck_assert_str_eq(sim_event_name(SIM_EV_EXEC), "exec");
}
END_TEST

/* The PHC fault events of the sweep and fuzz tests, and a PHC off by up to 10 %. */
START_TEST(test_phc_faults)
{
	const char *text = "duration 1m\n"
			   "phc kvm 0\n"
			   "freq_ppb -1e8\n"
			   "phc ena 1\n"
			   "freq_ppb 100000000\n"
			   "at 1s phc_freeze 0 2.5s\n"
			   "at 2s phc_freeze 1 1000d  # never runs again\n"
			   "at 3s phc_backstep 0 10us 500ms\n"
			   "at 4s phc_delay_spike 1 1s 1m\n"
			   "at 5s phc_error 0 EINTR 100ms\n"
			   "at 6s phc_freq 1 -1e8\n"
			   "at 7s phc_freq 1 99999999.5\n";

	ck_assert_msg(sim_scenario_parse(&s, text, "t", err, sizeof(err)) == 0, "%s", err);
	ck_assert_double_eq(s.phc[0].freq_ppb, -1e8);
	ck_assert_double_eq(s.phc[1].freq_ppb, 1e8);
	ck_assert_int_eq(s.nevents, 7);
	ck_assert_int_eq(s.ev[0].type, SIM_EV_PHC_FREEZE);
	ck_assert_int_eq(s.ev[0].dev, 0);
	ck_assert_int_eq(s.ev[0].value_ns, 2500000000LL);
	ck_assert_int_eq(s.ev[1].value_ns, 1000LL * 86400 * 1000000000);
	ck_assert_int_eq(s.ev[2].type, SIM_EV_PHC_BACKSTEP);
	ck_assert_int_eq(s.ev[2].size_ns, 10000);
	ck_assert_int_eq(s.ev[2].value_ns, 500000000);
	ck_assert_int_eq(s.ev[3].type, SIM_EV_PHC_DELAY_SPIKE);
	ck_assert_int_eq(s.ev[3].dev, 1);
	ck_assert_int_eq(s.ev[3].size_ns, 1000000000);
	ck_assert_int_eq(s.ev[3].value_ns, 60000000000LL);
	ck_assert_int_eq(s.ev[4].type, SIM_EV_PHC_ERROR);
	ck_assert_int_eq(s.ev[4].err, EINTR);
	ck_assert_double_eq(s.ev[5].value, -1e8);
	ck_assert_double_eq(s.ev[6].value, 99999999.5);
	ck_assert_str_eq(sim_event_name(SIM_EV_PHC_FREEZE), "phc_freeze");
	ck_assert_str_eq(sim_event_name(SIM_EV_PHC_BACKSTEP), "phc_backstep");
	ck_assert_str_eq(sim_event_name(SIM_EV_PHC_DELAY_SPIKE), "phc_delay_spike");
}
END_TEST

/* The noise shapes: defaults 0 (the profile's Gaussian only), then each key. */
START_TEST(test_noise_shapes)
{
	const char *text = "phc kvm 0\n"
			   "phc ena 1\n"
			   "precise_noise 100ns\n"
			   "precise_noise_exp 150ns\n"
			   "precise_outlier_prob 0.001\n"
			   "precise_outlier 5us\n"
			   "window_spread 0.25\n"
			   "outlier_prob 1e-4\n"
			   "outlier 20us\n";

	ck_assert_msg(sim_scenario_parse(&s, text, "t", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(s.phc[0].precise_noise_ns, 20);
	ck_assert_int_eq(s.phc[0].precise_noise_exp_ns, 0);
	ck_assert_double_eq(s.phc[0].precise_outlier_prob, 0);
	ck_assert_int_eq(s.phc[0].precise_outlier_ns, 0);
	ck_assert_double_eq(s.phc[0].window_spread, 0);
	ck_assert_int_eq(s.phc[1].precise_noise_ns, 100);
	ck_assert_int_eq(s.phc[1].precise_noise_exp_ns, 150);
	ck_assert_double_eq(s.phc[1].precise_outlier_prob, 0.001);
	ck_assert_int_eq(s.phc[1].precise_outlier_ns, 5000);
	ck_assert_double_eq(s.phc[1].window_spread, 0.25);
	ck_assert_double_eq(s.phc[1].outlier_prob, 1e-4);
	ck_assert_int_eq(s.phc[1].outlier_ns, 20000);
	/* The bounds themselves are accepted. */
	ck_assert_int_eq(sim_scenario_parse(&s, "phc kvm\nwindow_spread 1\nprecise_outlier_prob 1\n"
						"window_spread 0\nprecise_outlier_prob 0\n",
					    "t", err, sizeof(err)),
			 0);
}
END_TEST

/* Each bad line is reported with its origin and line number. */
START_TEST(test_errors)
{
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{"seed 1\nbogus 3\n", "t:2: unknown key 'bogus'"},
		{"noise 5ns\n", "t:1: 'noise' outside a 'phc' block"},
		{"phc kvm\nnoise 5 furlongs\n", "t:2: 'noise' takes one value"},
		{"phc xen\n", "t:1: unknown PHC profile 'xen'"},
		{"phc kvm 0\nat 5 phc_step 1 1ms\n", "t:2: no PHC with index 1"},
		{"\n\nat 5 phc_error 0 EIO 1s\n", "t:3: no PHC with index 0"},
		{"phc kvm 0\nat 5 phc_error 0 EFOO 1s\n", "t:2: unknown error 'EFOO'"},
		{"start 2025-02-30T00:00:00\n", "t:1: bad value"},
		{"phc kvm 0\nphc vmw 0\n", "two PHC devices with index 0"},
		{"duration -5\n", "t:1: bad value"},
		{"leap 2016-12-31 +2\n", "t:1: expected 'leap YYYY-MM-DD +1|-1'"},
		{"start 2017-01-01T00:00:00\nleap 2016-12-31 +1\n", "leap second before the start"},
		{"seed\n", "t:1: 'seed' takes one value"},
		{"at 2s exec   # nothing\n", "t:1: expected 'at TIME exec COMMAND...'"},
		{"at soon exec true\n", "t:1: bad event time 'soon'"},
		{"phc kvm 0\nfreq_ppb 100000001\n", "t:2: bad value '100000001' for 'freq_ppb'"},
		{"phc kvm 0\nfreq_ppb -1.00000001e8\n", "t:2: bad value"},
		{"phc kvm 0\nat 1 phc_freq 0 1.1e8\n", "t:2: bad frequency '1.1e8'"},
		{"phc kvm 0\nat 1 phc_freq 0 -100000001\n", "t:2: bad frequency"},
		{"phc kvm 0\nat 1 phc_freeze 0\n", "t:2: expected 'phc_freeze DEV TIME'"},
		{"phc kvm 0\nat 1 phc_freeze 0 0s\n", "t:2: bad duration '0s'"},
		{"phc kvm 0\nat 1 phc_freeze 1 1s\n", "t:2: no PHC with index 1"},
		{"phc kvm 0\nat 1 phc_backstep 0 1ms\n",
		 "t:2: expected 'phc_backstep DEV STEP TIME'"},
		{"phc kvm 0\nat 1 phc_backstep 0 -1ms 1s\n", "t:2: bad step '-1ms'"},
		{"phc kvm 0\nat 1 phc_backstep 0 1ms -1s\n", "t:2: bad duration '-1s'"},
		{"phc kvm 0\nat 1 phc_delay_spike 0 1ms\n",
		 "t:2: expected 'phc_delay_spike DEV DELAY TIME'"},
		{"phc kvm 0\nat 1 phc_delay_spike 0 1001ms 1s\n", "t:2: bad delay '1001ms'"},
		{"phc kvm 0\nat 1 phc_delay_spike 0 0 1s\n", "t:2: bad delay '0'"},
		{"phc kvm 0\nat 1 phc_error 0 EAGAIN 1s\n", "EOPNOTSUPP, EINTR)"},
		{"precise_noise_exp 5ns\n", "t:1: 'precise_noise_exp' outside a 'phc' block"},
		{"phc kvm\nprecise_noise_exp -1ns\n", "t:2: bad value '-1ns' for 'precise_noise_exp'"},
		{"phc kvm\nprecise_noise_exp 1 s\n", "t:2: 'precise_noise_exp' takes one value"},
		{"phc kvm\nprecise_outlier_prob 1.01\n", "t:2: bad value '1.01'"},
		{"phc kvm\nprecise_outlier_prob -0.1\n", "t:2: bad value '-0.1'"},
		{"phc kvm\nprecise_outlier_prob often\n", "t:2: bad value 'often'"},
		{"phc kvm\nprecise_outlier -5us\n", "t:2: bad value '-5us' for 'precise_outlier'"},
		{"phc kvm\nwindow_spread 1.5\n", "t:2: bad value '1.5' for 'window_spread'"},
		{"phc kvm\nwindow_spread -0.5\n", "t:2: bad value '-0.5' for 'window_spread'"},
		{"phc kvm\nwindow_spread\n", "t:2: 'window_spread' takes one value"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_ne(sim_scenario_parse(&s, bad[i].text, "t", err, sizeof(err)), 0);
		ck_assert_msg(strstr(err, bad[i].msg), "case %zu: got '%s'", i, err);
	}
}
END_TEST

/* The vmclock device's keys and events. */
START_TEST(test_vmclock)
{
	const char *text = "phc kvm 0\n"
			   "vmclock poll\n"
			   "vmclock_status freerunning\n"
			   "vmclock_maxerror 250us\n"
			   "vmclock_torn 4\n"
			   "at 30 vmclock_restore 10m\n"
			   "at 10 vmclock_migrate -40ms\n"
			   "at 11 vmclock_flags imminent\n"
			   "at 12 vmclock_status unreliable\n"
			   "at 13 vmclock_leap pre_neg\n"
			   "at 14 vmclock_tai -3\n"
			   "at 15 vmclock_marker\n"
			   "at 16 vmclock_touch\n";
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{"vmclock_torn 3\n", "t:1: 'vmclock_torn' before 'vmclock notify|poll'"},
		{"vmclock always\n", "t:1: expected 'vmclock notify|poll'"},
		{"vmclock poll\nvmclock_status fine\n", "t:2: unknown vmclock status 'fine'"},
		{"vmclock poll\nvmclock_bad seq\n", "expected 'vmclock_bad magic|size|version"},
		{"vmclock poll\nvmclock_maxerror -1us\n", "t:2: bad value '-1us'"},
		{"at 1 vmclock_restore -5s\n", "t:1: expected 'vmclock_restore AGE'"},
		{"at 1 vmclock_migrate\n", "t:1: expected 'vmclock_migrate CLOCK_STEP'"},
		{"at 1 vmclock_flags later\n", "expected 'vmclock_flags soon|imminent|none'"},
		{"at 1 vmclock_leap maybe\n", "t:1: unknown vmclock leap indicator 'maybe'"},
		{"at 1 vmclock_tai 40000\n", "t:1: bad TAI offset '40000'"},
		{"at 1 vmclock_marker 3\n", "t:1: 'vmclock_marker' takes no value"},
		{"at 1 vmclock_jump 3\n", "t:1: unknown event 'vmclock_jump'"},
	};

	ck_assert_msg(sim_scenario_parse(&s, text, "t", err, sizeof(err)) == 0, "%s", err);
	ck_assert(s.vmclock.present);
	ck_assert(!s.vmclock.notify);
	ck_assert_int_eq(s.vmclock.status, 3);
	ck_assert_int_eq(s.vmclock.maxerror_ns, 250000);
	ck_assert_int_eq(s.vmclock.torn_every, 4);
	ck_assert_int_eq(s.nevents, 8);
	ck_assert_int_eq(s.ev[0].type, SIM_EV_VMCLOCK_MIGRATE);
	ck_assert_int_eq(s.ev[0].value_ns, -40000000);
	ck_assert_int_eq(s.ev[1].type, SIM_EV_VMCLOCK_FLAGS);
	ck_assert_int_eq(s.ev[1].arg, SIM_VMCLOCK_IMMINENT);
	ck_assert_int_eq(s.ev[2].arg, 4);
	ck_assert_int_eq(s.ev[3].arg, 2);
	ck_assert_int_eq(s.ev[4].arg, -3);
	ck_assert_int_eq(s.ev[5].type, SIM_EV_VMCLOCK_MARKER);
	ck_assert_int_eq(s.ev[6].type, SIM_EV_VMCLOCK_TOUCH);
	ck_assert_int_eq(s.ev[7].type, SIM_EV_VMCLOCK_RESTORE);
	ck_assert_int_eq(s.ev[7].value_ns, 600LL * 1000000000);
	ck_assert_str_eq(sim_event_name(SIM_EV_VMCLOCK_RESTORE), "vmclock_restore");
	/* Without the key there is no device. */
	ck_assert_int_eq(sim_scenario_parse(&s, "phc kvm 0\n", "t", err, sizeof(err)), 0);
	ck_assert(!s.vmclock.present);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_ne(sim_scenario_parse(&s, bad[i].text, "t", err, sizeof(err)), 0);
		ck_assert_msg(strstr(err, bad[i].msg), "case %zu: got '%s'", i, err);
	}
	ck_assert_msg(sim_scenario_load(&s, "scenarios/vmclock-migration.scn", err,
					sizeof(err)) == 0,
		      "%s", err);
	ck_assert(s.vmclock.notify);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sim_scenario");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_builtin);
	tcase_add_test(tc, test_example_files);
	tcase_add_test(tc, test_events_sorted);
	tcase_add_test(tc, test_exec);
	tcase_add_test(tc, test_phc_faults);
	tcase_add_test(tc, test_noise_shapes);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_vmclock);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
