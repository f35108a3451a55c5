# ftrace-events: the plain event trace (nop tracer) with its header, for the
# line format of irq:irq_handler_entry/exit and the irq_vectors / irq_matrix
# events: an affinity write of nvme0q0, then NVMe reads pinned to each CPU.
. /lib.sh
Q0=$(irq_of nvme0q0)
echo 0 > $T/tracing_on; echo nop > $T/current_tracer; echo > $T/trace
echo > $T/set_event
for e in irq:irq_handler_entry irq:irq_handler_exit irq:softirq_entry irq:softirq_exit irq_vectors:vector_update irq_vectors:vector_config \
  irq_vectors:vector_free_moved irq_matrix:irq_matrix_alloc irq_matrix:irq_matrix_free; do echo "$e" >> $T/set_event; done
sec "trace_options"; cat $T/trace_options | paste -sd' '
echo 1 > $T/tracing_on
try "echo 2 > /proc/irq/$Q0/smp_affinity"
echo 1 > /sys/class/nvme/nvme0/rescan_controller; sleep 1
for c in 0 1 2 3; do taskset -c $c dd if=/dev/nvme0n1 of=/dev/null bs=4k count=2 iflag=direct 2>/dev/null; done
echo 0 > $T/tracing_on
sec "trace (nop tracer, header included)"
cat $T/trace
sec "trace with irq-info off"
echo 0 > $T/options/irq-info; cat $T/trace | head -20; echo 1 > $T/options/irq-info
sec "per_cpu/cpu1/trace head"
head -15 $T/per_cpu/cpu1/trace
echo > $T/set_event
