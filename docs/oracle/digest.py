#!/usr/bin/env python3
# Condense an irqsim capture into "step -> ret: callbacks" lines plus the state after each step.
#   python3 digest.py irqsim.txt
# chip callbacks lose the "chip " prefix; irq_set_irqchip_state which=0 state=1 -> set_state(PENDING),
# irq_get_irqchip_state which=1 -> get_state(ACTIVE); genirq/WARN lines are shown in [brackets].
import re,sys
cur=None; cbs=[]
for line in open(sys.argv[1]):
    line=line.rstrip('\n')
    m=re.match(r'oracle: === scenario (\S+)',line)
    if m: print(f"\n[{m.group(1)}]"); continue
    m=re.match(r'oracle: (\S+?):   (.*)$',line)
    if m:
        t=m.group(2)
        if t.startswith('('): 
            x=re.search(r'threads_oneshot=(\S+) threads_active=(\d+) wake_depth=(\d+) wakeup_state=(\d+).*trigger_type=(\d+)',t)
            if x: print(f"      (threads_oneshot={x.group(1)} threads_active={x.group(2)} wake_depth={x.group(3)} wakeup={x.group(4)} type={x.group(5)})")
            continue
        t=t.replace('chip ','').replace('irq_set_irqchip_state which=0 state=1','set_state(PENDING)').replace('irq_get_irqchip_state which=1','get_state(ACTIVE)')
        t=re.sub(r' enabled=\d+( pending=\d+)?','',t)
        cbs.append(t); continue
    m=re.match(r'oracle: (\S+?): (.*?)\s+ret=(-?\d+) \| .*kstat=(\d+) unhandled=(\d+) \| depth=(\d) disabled=(\d) masked=(\d) started=(\d) activated=(\d) action=(\d) \| istate=(\S+)',line)
    if m:
        lab,ret=m.group(2),m.group(3)
        if lab=='irq_create_mapping': cbs=[]; continue
        print(f"  {lab} -> {ret}: {', '.join(cbs) or '(no callbacks)'}")
        print(f"      => depth={m.group(6)} disabled={m.group(7)} masked={m.group(8)} started={m.group(9)} activated={m.group(10)} action={m.group(11)} istate={m.group(12)} kstat={m.group(4)} unhandled={m.group(5)}")
        cbs=[]; continue
    if re.match(r'(genirq:|Unbalanced|Trying to free|WARNING:)',line): cbs.append('['+line+']')
