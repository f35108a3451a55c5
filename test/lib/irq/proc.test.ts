// SPDX-License-Identifier: GPL-2.0-only
// kernel/irq/proc.c: /proc/interrupts (C61-C63: irqlab renders the C62
// generation of Linux 6.18) and /proc/irq (C64-C66), checked against the
// Linux 6.12 captures in docs/oracle/.

import { oracleText } from "../../oracle.ts";
import { expect } from "chai";
import { createMachine, type Machine } from "../../../lib/machine.ts";
import { seq_printf, type seq_file } from "../../../lib/kernel/seq_file.ts";
import { cpumask_clear, cpumask_of, cpumask_set_cpu, set_cpu_online } from "../../../lib/kernel/cpumask.ts";
import { irq_alloc_descs, irq_to_desc } from "../../../lib/irq/irqdesc.ts";
import { handle_edge_irq, handle_simple_irq } from "../../../lib/irq/flow.ts";
import { irq_set_chip_and_handler_name, irq_set_chained_handler_and_data } from "../../../lib/irq/chip.ts";
import { IRQ_HANDLED } from "../../../lib/irq/interrupt.ts";
import { free_irq, irq_set_affinity, request_irq } from "../../../lib/irq/manage.ts";
import { IRQ_HIDDEN, IRQD_AFFINITY_MANAGED, IRQD_SETAFFINITY_PENDING, type irq_chip } from "../../../lib/irq/irq.ts";
import { proc_irq_entries, proc_irq_files, set_arch_show_interrupts } from "../../../lib/irq/proc.ts";
import {
  irq_create_mapping,
  irq_domain_alloc_named_fwnode,
  irq_domain_create_linear,
  irq_domain_create_tree,
  __irq_domain_alloc_irqs,
  irq_domain_free_irqs_common,
  irq_domain_set_info,
  type irq_domain,
} from "../../../lib/irq/irqdomain.ts";
import { set_affinity_highest, settle } from "./domain_fixtures.ts";

function dom(x: irq_domain | number | null): irq_domain {
  if (x === null || typeof x === "number") throw new Error(`no domain: ${String(x)}`);
  return x;
}


/** A linear domain whose map() installs `chip` with handle_edge_irq named "edge". */
async function edge_domain(name: string, chip: irq_chip, size = 64): Promise<irq_domain> {
  return dom(
    await settle(
      irq_domain_create_linear(irq_domain_alloc_named_fwnode(name), size, {
        map: (_d, virq) => {
          irq_set_chip_and_handler_name(virq, chip, handle_edge_irq, "edge");
          return 0;
        },
      }, null),
    ),
  );
}

const plain = (name: string): irq_chip => ({ name, irq_mask() {}, irq_unmask() {}, irq_ack() {}, irq_set_affinity: set_affinity_highest });

/** The rows of /proc/interrupts for the given irqs, and its header. */
function rows(text: string, irqs: number[]): string[] {
  const lines = text.split("\n");
  return [lines[0]!, ...lines.filter((l) => irqs.some((i) => new RegExp(`^ *${i}:`).test(l)))];
}

async function boot(cpus = 4): Promise<Machine> {
  return createMachine({ cpus });
}

describe("lib/irq/proc /proc/interrupts", () => {
  it("C62 header, per-CPU counts, chip, hwirq, flow name and shared action names in the v6.11+ layout (golden)", async () => {
    const m = await boot();
    const irqs: number[] = [];
    await m.run(async () => {
      const d = await edge_domain("gpio", plain("IO-APIC"));
      const a = await settle(irq_create_mapping(d, 1));
      const b = await settle(irq_create_mapping(d, 12));
      irqs.push(a, b);
      await request_irq(a, () => IRQ_HANDLED, 0x80, "i8042", 1);
      await request_irq(a, () => IRQ_HANDLED, 0x80, "serio", 2);
      await request_irq(b, () => IRQ_HANDLED, 0, "ttyS0", 3);
      irq_to_desc(a)!.kstat_irqs.set([9, 0, 1234567, 0]);
      irq_to_desc(b)!.kstat_irqs.set([0, 0, 0, 20]);
    });
    const [a, b] = irqs;
    expect(rows(m.procInterrupts(), irqs)).to.deep.equal([
      "           CPU0       CPU1       CPU2       CPU3       ",
      `${String(a).padStart(3)}:          9          0    1234567          0  IO-APIC   1-edge      i8042, serio`,
      `${String(b).padStart(3)}:          0          0          0         20  IO-APIC  12-edge      ttyS0`,
    ]);
  });

  it("C62 the width of the irq column grows with nr_irqs (3 below 1000, 4 from 1000)", async () => {
    const m = await boot();
    let big = 0;
    await m.run(async () => {
      const d = await edge_domain("wide", plain("W"));
      expect(m.procInterrupts().split("\n")[0]!.startsWith("           CPU0")).to.equal(true);
      expect(irq_alloc_descs(1500, 1500, 1, -1)).to.equal(1500);
      big = await settle(irq_create_mapping(d, 3));
      await request_irq(big, () => IRQ_HANDLED, 0, "w", 1);
    });
    const text = m.procInterrupts();
    expect(text.split("\n")[0]).to.equal("            CPU0       CPU1       CPU2       CPU3       ");
    expect(text).to.include(`\n${String(big).padStart(4)}:          0          0          0          0        W    3-edge      w\n`);
  });

  it("C62 irq_print_chip output follows the single space; a NULL chip name prints -, no domain prints blanks", async () => {
    const m = await boot();
    const irqs: number[] = [];
    await m.run(async () => {
      const pchip: irq_chip = { ...plain("x"), irq_print_chip: (d, p) => p.printf("IR-PCI-MSIX-0000:00:02.0") };
      const d = await edge_domain("msix", pchip);
      const a = await settle(irq_create_mapping(d, 0));
      const nameless = irq_alloc_descs(-1, 1, 1, -1);
      irq_set_chip_and_handler_name(nameless, { ...plain("y"), name: null as unknown as string }, handle_simple_irq, null);
      await request_irq(a, () => IRQ_HANDLED, 0, "nvme0q0", 1);
      await request_irq(nameless, () => IRQ_HANDLED, 0, "legacy", 2);
      irqs.push(a, nameless);
    });
    const [a, n] = irqs;
    expect(rows(m.procInterrupts(), irqs).slice(1)).to.deep.equal([
      `${String(a).padStart(3)}:          0          0          0          0 IR-PCI-MSIX-0000:00:02.0   0-edge      nvme0q0`,
      `${String(n).padStart(3)}:          0          0          0          0        -      legacy`,
    ]);
  });

  it("C62 lists only online CPUs and only descriptors with a non-chained action that are not hidden, then the arch rows", async () => {
    const m = await boot();
    const irqs: number[] = [];
    await m.run(async () => {
      const d = await edge_domain("sel", plain("SEL"));
      const withact = await settle(irq_create_mapping(d, 1));
      const noact = await settle(irq_create_mapping(d, 2));
      const freed = await settle(irq_create_mapping(d, 3));
      const hidden = await settle(irq_create_mapping(d, 4));
      const chained = await settle(irq_create_mapping(d, 5));
      irqs.push(withact, noact, freed, hidden, chained);
      await request_irq(withact, () => IRQ_HANDLED, 0, "a", 1);
      await request_irq(freed, () => IRQ_HANDLED, 0, "f", 1);
      await request_irq(hidden, () => IRQ_HANDLED, 0, "h", 1);
      irq_to_desc(freed)!.kstat_irqs[0] = 5;
      await free_irq(freed, 1);
      irq_to_desc(hidden)!.status_use_accessors |= IRQ_HIDDEN;
      irq_set_chained_handler_and_data(chained, handle_simple_irq, null);
      set_cpu_online(1, false);
      set_arch_show_interrupts((p: seq_file, prec: number) => {
        seq_printf(p, "%*s: %10u   Arch rows\n", prec, "XYZ", 1);
        return 0;
      });
    });
    const text = m.procInterrupts();
    expect(rows(text, irqs)).to.deep.equal(["           CPU0       CPU2       CPU3       ", `${String(irqs[0]).padStart(3)}:          0          0          0      SEL   1-edge      a`]);
    expect(text.endsWith(`XYZ:          1   Arch rows\n`)).to.equal(true);
    await m.run(() => set_cpu_online(1, true));
  });

  it("C61 the classic (<= v6.10) layout is not irqlab's: a Linux 6.12 row differs only by the space before the chip", async () => {
    const base = oracleText("baseline.txt");
    const want = base.split("\n").filter((l) => /^ {2}0:|^ 25:/.test(l)).slice(0, 2);
    expect(want).to.have.length(2);
    const m = await boot();
    const irqs: number[] = [];
    await m.run(async () => {
      const io = await edge_domain("ioapic", plain("IR-IO-APIC"));
      const t = await settle(irq_create_mapping(io, 2));
      await request_irq(t, () => IRQ_HANDLED, 0, "timer", 1);
      irq_to_desc(t)!.kstat_irqs.set([162, 0, 0, 0]);
      const msix = await edge_domain("msix", plain("IR-PCI-MSIX-0000:00:02.0"));
      const q = await settle(irq_create_mapping(msix, 0));
      await request_irq(q, () => IRQ_HANDLED, 0, "nvme0q0", 1);
      irq_to_desc(q)!.kstat_irqs.set([0, 0, 0, 16]);
      irqs.push(t, q);
    });
    const text = m.procInterrupts();
    const header = base.split("\n").find((l) => l.includes("CPU0"))!;
    expect(text.split("\n")[0]).to.equal(header);
    const got = rows(text, irqs).slice(1);
    for (let i = 0; i < 2; i++) {
      const mine = got[i]!.slice(got[i]!.indexOf(":"));
      const classic = want[i]!.slice(want[i]!.indexOf(":"));
      expect(mine).to.not.equal(classic);
      expect(mine).to.equal(classic.replace(/(\d) {2}(IR-)/, "$1 $2"));
    }
  });

  it("C61 since v6.10 a descriptor whose handler was freed is not listed even though it has counts", async () => {
    const m = await boot();
    let v = 0;
    await m.run(async () => {
      const d = await edge_domain("gone", plain("G"));
      v = await settle(irq_create_mapping(d, 1));
      await request_irq(v, () => IRQ_HANDLED, 0, "g", 1);
      irq_to_desc(v)!.kstat_irqs[2] = 3;
      expect(m.procInterrupts()).to.match(new RegExp(`\\n *${v}:`));
      await free_irq(v, 1);
    });
    expect(m.procInterrupts()).to.not.match(new RegExp(`\\n *${v}:`));
  });

  it("C63 the 7.0-rc layout is not irqlab's: no minimum width of 4, no left-aligned chip column, no zero row for count-less irqs", async () => {
    const m = await boot();
    let v = 0;
    await m.run(async () => {
      const d = await edge_domain("short", plain("abc"));
      v = await settle(irq_create_mapping(d, 9));
      await request_irq(v, () => IRQ_HANDLED, 0, "s", 1);
    });
    const text = m.procInterrupts();
    expect(text.split("\n")[0]!.indexOf("CPU0")).to.equal(11);
    expect(text).to.include(`${String(v).padStart(3)}:          0          0          0          0      abc   9-edge      s\n`);
  });
});

describe("lib/irq/proc /proc/irq", () => {
  it("C64 /proc/irq/<N> appears with the first handler, lists the files and one directory per action name, and stays after free_irq", async () => {
    const m = await boot();
    let v = 0;
    await m.run(async () => {
      const d = await edge_domain("dir", plain("D"));
      v = await settle(irq_create_mapping(d, 1));
      expect(m.procIrq(v, "smp_affinity")).to.equal(null);
      expect(proc_irq_entries(v)).to.equal(null);
      await request_irq(v, () => IRQ_HANDLED, 0x80, "eth0", 1);
      await request_irq(v, () => IRQ_HANDLED, 0x80, "eth0", 2);
      await request_irq(v, () => IRQ_HANDLED, 0x80, "eth1", 3);
      expect(proc_irq_entries(v)).to.deep.equal([...proc_irq_files, "eth0", "eth1"]);
      for (const dev of [1, 2, 3]) await free_irq(v, dev);
    });
    expect(m.procIrq(v, "smp_affinity")).to.equal("f\n");
    expect(m.procIrq(v, "nosuch")).to.equal(null);
    expect(proc_irq_files).to.deep.equal(["smp_affinity", "affinity_hint", "smp_affinity_list", "node", "effective_affinity", "effective_affinity_list", "spurious"]);
  });

  it("C65 the files print %*pb / %*pbl masks, the node and the spurious counters (golden)", async () => {
    const m = await boot();
    let v = 0;
    await m.run(async () => {
      const d = await edge_domain("fmt", plain("F"));
      v = await settle(irq_create_mapping(d, 1));
      await request_irq(v, () => IRQ_HANDLED, 0, "f", 1);
      expect(irq_set_affinity(v, cpumask_of(2))).to.equal(0);
      const desc = irq_to_desc(v)!;
      desc.irq_count = 7;
      desc.irqs_unhandled = 2;
      desc.last_unhandled = 250;
      desc.affinity_hint = cpumask_of(1);
    });
    const files = ["smp_affinity", "smp_affinity_list", "effective_affinity", "effective_affinity_list", "affinity_hint", "node", "spurious"];
    expect(files.map((f) => m.procIrq(v, f))).to.deep.equal(["4\n", "2\n", "4\n", "2\n", "2\n", "-1\n", "count 7\nunhandled 2\nlast_unhandled 1000 ms\n"]);
    expect(m.procIrq("default_smp_affinity")).to.equal("f\n");
  });

  it("C65 smp_affinity shows a pending move's target, and the hex width follows nr_cpu_ids", async () => {
    for (const [cpus, hex] of [[4, "f"], [8, "0f"], [16, "000f"], [40, "00,0000000f"]] as const) {
      const m = await boot(cpus);
      let v = 0;
      await m.run(async () => {
        const d = await edge_domain("w", plain("W"));
        v = await settle(irq_create_mapping(d, 1));
        await request_irq(v, () => IRQ_HANDLED, 0, "w", 1);
        irq_set_affinity(v, (() => {
          const c = cpumask_of(0);
          for (const i of [1, 2, 3]) cpumask_set_cpu(i, c);
          return c;
        })());
      });
      expect([cpus, m.procIrq(v, "smp_affinity")]).to.deep.equal([cpus, `${hex}\n`]);
      if (cpus === 4) {
        await m.run(() => {
          const desc = irq_to_desc(v)!;
          cpumask_clear(desc.pending_mask);
          cpumask_set_cpu(2, desc.pending_mask);
          desc.irq_common_data.state_use_accessors |= IRQD_SETAFFINITY_PENDING;
        });
        expect([m.procIrq(v, "smp_affinity"), m.procIrq(v, "smp_affinity_list")]).to.deep.equal(["4\n", "2\n"]);
      }
    }
  });

  it("C65 C66 reads and writes match the Linux 6.12 capture for an MSI-X vector (baseline.txt, vector 25)", async () => {
    const base = oracleText("baseline.txt");
    const blocks = base.split("### vector 25 (nvme0q0)\n").slice(1).map((b) => b.split("\n").slice(0, 5).join("\n"));
    expect(blocks).to.have.length(4);
    const m = await boot();
    let v = 0;
    const show = (): string =>
      ["smp_affinity", "smp_affinity_list", "effective_affinity", "effective_affinity_list", "node"].map((f) => `${f}: ${m.procIrq(v, f)!.trimEnd()}`).join("\n");
    await m.run(async () => {
      const chip = plain("PCI-MSIX");
      const d = dom(
        await settle(
          irq_domain_create_tree(null, {
            alloc: (dd, virq) => (irq_domain_set_info(dd, virq, 0, chip, null, handle_edge_irq, null, "edge"), 0),
            free: irq_domain_free_irqs_common,
          }, null),
        ),
      );
      v = await settle(__irq_domain_alloc_irqs(d, -1, 1, 0, null, false, null));
      await request_irq(v, () => IRQ_HANDLED, 0, "nvme0q0", 1);
    });
    expect(show()).to.equal(blocks[0]);
    expect(m.writeProcIrq(v, "smp_affinity", "2\n")).to.equal(2);
    expect(show()).to.equal(blocks[1]);
    expect(m.writeProcIrq(v, "smp_affinity_list", "2-3\n")).to.equal(4);
    expect(show()).to.equal(blocks[2]);
    expect(base).to.include("default_smp_affinity: f\n");
    expect(`default_smp_affinity: ${m.procIrq("default_smp_affinity")}`).to.equal("default_smp_affinity: f\n");
  });

  it("C66 writes fail with -EPERM for managed, per-CPU or affinity-less interrupts, as in the capture", async () => {
    const base = oracleText("baseline.txt");
    expect(base).to.include("$ echo 2 > /proc/irq/26/smp_affinity\nsh: write error: Operation not permitted");
    const m = await boot();
    const irqs: number[] = [];
    await m.run(async () => {
      const d = await edge_domain("perm", plain("P"));
      const nochip = await edge_domain("perm2", { name: "noaff", irq_mask() {}, irq_unmask() {} });
      for (const [dd, hw] of [[d, 1], [d, 2], [nochip, 3]] as const) {
        const v = await settle(irq_create_mapping(dd, hw));
        await request_irq(v, () => IRQ_HANDLED, 0, "p", 1);
        irqs.push(v);
      }
      irq_to_desc(irqs[0]!)!.irq_common_data.state_use_accessors |= IRQD_AFFINITY_MANAGED;
      irq_to_desc(irqs[1]!)!.irq_common_data.state_use_accessors |= 1 << 11; // IRQD_PER_CPU
    });
    for (const v of irqs) {
      expect(m.writeProcIrq(v, "smp_affinity", "2\n")).to.equal(-1);
      expect(m.writeProcIrq(v, "smp_affinity_list", "1\n")).to.equal(-1);
      expect(m.procIrq(v, "smp_affinity")).to.equal("f\n");
    }
  });

  it("C66 parse errors, a mask without an online CPU and a chip's error come back as errnos and leave the affinity alone", async () => {
    const m = await boot();
    let v = 0;
    let refuse = false;
    await m.run(async () => {
      const chip: irq_chip = { ...plain("E"), irq_set_affinity: (d, dest, f) => (refuse ? -28 : set_affinity_highest(d, dest, f)) };
      const d = await edge_domain("errs", chip);
      v = await settle(irq_create_mapping(d, 1));
      await request_irq(v, () => IRQ_HANDLED, 0, "e", 1);
    });
    expect(m.writeProcIrq(v, "smp_affinity", "zz\n")).to.equal(-22);
    expect(m.writeProcIrq(v, "smp_affinity", "1f\n")).to.equal(-75);
    expect(m.writeProcIrq(v, "smp_affinity_list", "a-b\n")).to.equal(-22);
    expect(m.writeProcIrq(v, "smp_affinity_list", "7\n")).to.equal(-34);
    await m.run(() => set_cpu_online(3, false));
    expect(m.writeProcIrq(v, "smp_affinity", "8\n")).to.equal(-22);
    await m.run(() => set_cpu_online(3, true));
    refuse = true;
    expect(m.writeProcIrq(v, "smp_affinity", "2\n")).to.equal(-28);
    expect(m.procIrq(v, "smp_affinity")).to.equal("f\n");
    refuse = false;
    expect(m.writeProcIrq(v, "node", "0\n")).to.equal(-5);
    expect(m.writeProcIrq(v, "spurious", "0\n")).to.equal(-5);
    expect(m.writeProcIrq(4000, "smp_affinity", "1\n")).to.equal(-2);
    expect(m.writeProcIrq(v, "smp_affinity", "8")).to.equal(1);
    expect(m.procIrq(v, "effective_affinity_list")).to.equal("3\n");
  });

  it("C66 default_smp_affinity takes a hex mask with an online CPU", async () => {
    const m = await boot();
    expect(m.writeProcIrq("default_smp_affinity", "zz")).to.equal(-22);
    expect(m.writeProcIrq("default_smp_affinity", "0\n")).to.equal(-22);
    expect(m.procIrq("default_smp_affinity")).to.equal("f\n");
    expect(m.writeProcIrq("default_smp_affinity", "3\n")).to.equal(2);
    expect(m.procIrq("default_smp_affinity")).to.equal("3\n");
    let v = 0;
    await m.run(async () => {
      const d = await edge_domain("def", plain("DEF"));
      v = await settle(irq_create_mapping(d, 1));
      await request_irq(v, () => IRQ_HANDLED, 0, "d", 1);
    });
    expect(m.procIrq(v, "smp_affinity")).to.equal("3\n");
    expect(m.procIrq(v, "effective_affinity")).to.equal("2\n");
  });
});
