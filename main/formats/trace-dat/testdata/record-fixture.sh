#!/bin/bash
# Records the trace-dat fixtures (see main/formats/trace-dat/testdata/README.md).
set -euo pipefail
D=/tmp/rec/tdat-small
mount --bind $D/empty-kallsyms /proc/kallsyms
# The kernel here is in lockdown: function-tracer files of an instance return EPERM, and
# trace-cmd-ns.sh only covers the top-level ones. Create the instance and cover its files too.
I=/sys/kernel/tracing/instances/aux
[ -d $I ] || mkdir $I
for f in set_ftrace_pid set_ftrace_notrace_pid set_ftrace_filter set_ftrace_notrace set_graph_function set_graph_notrace; do
  [ -e $I/$f ] || continue
  cat $I/$f >/dev/null 2>&1 && continue
  : > $D/fake_$f; mount --bind $D/fake_$f $I/$f
done
/work/shared/tools/record/trace-cmd-ns.sh record -C mono -b 4096 \
  -e sched:sched_switch -e sched:sched_wakeup -e sched:sched_wakeup_new -e sched:sched_waking \
  -e sched:sched_migrate_task -e sched:sched_process_fork -e sched:sched_process_exec -e sched:sched_process_exit \
  -e kvm:kvm_entry -e kvm:kvm_exit -e kvm:kvm_userspace_exit -e irq:irq_handler_entry -e irq:irq_handler_exit \
  -B aux -e sched:sched_switch -e sched:sched_process_exec \
  -o $D/trace.dat -- bash -c "$D/schedmix 1 1 1 1 0 & timeout 1.5 qemu-system-x86_64 -name fixture,debug-threads=on -enable-kvm -smp 2 -m 64 -display none -nodefaults -no-user-config -serial none -monitor none 2>/dev/null; wait"
