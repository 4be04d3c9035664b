package main

import "testing"

func TestLogsWanted(t *testing.T) {
	for _, tc := range []struct {
		environ []string
		want    bool
	}{
		{nil, false},
		{[]string{"PATH=/usr/bin", "HOME=/root"}, false},
		{[]string{"TF_LOG="}, false}, // set but empty: Terraform keeps nothing
		{[]string{"TF_LOG=TRACE"}, true},
		{[]string{"TF_LOG_PROVIDER=debug"}, true},
		{[]string{"TF_LOG_PROVIDER_SUNSET_IAM_SUNSET=info"}, true},
		{[]string{"TF_LOG_SDK_FRAMEWORK=trace"}, true},
		{[]string{"TF_LOG_PATH=/tmp/tf.log"}, true},
		{[]string{"MY_TF_LOG=trace"}, false},
	} {
		if got := logsWanted(tc.environ); got != tc.want {
			t.Errorf("logsWanted(%q) = %v, want %v", tc.environ, got, tc.want)
		}
	}
}

func TestSilenceLogs(t *testing.T) {
	got := map[string]string{}
	silenceLogs(func(k, v string) error { got[k] = v; return nil })
	// TF_LOG_SDK silences the SDK and, through it, its subsystems (proto,
	// framework); TF_LOG_PROVIDER the provider's own tflog calls.
	want := map[string]string{"TF_LOG_SDK": "off", "TF_LOG_PROVIDER": "off"}
	if len(got) != len(want) {
		t.Fatalf("set %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
