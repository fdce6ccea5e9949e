"""Production CPU profiles of the invoice service, before and after Tuesday's deploy.

    python3 flames.py --seed YOUR_SEED            # writes profiles/ (see below)
    python3 flames.py --seed YOUR_SEED --out DIR
    python3 flames.py --flame some.folded --out DIR    # draw any folded file

The profiles are those of your tenant's workers: a sampling profiler took the stack of
each busy worker 99 times a second for ten minutes before the deploy and ten minutes
after it, and folded the samples into one line per distinct stack, Brendan Gregg's
format: the frames from the root to the leaf, separated by ``;``, a space, and how many
samples had exactly that stack. It writes:

- ``before.folded``, ``after.folded``: the folded stacks;
- ``before.svg``, ``after.svg``: their flame graphs (open them in a browser; hover over
  a frame for its samples): a frame's width is the share of samples in which it was on
  the stack, its children sit on top of it, and the order left to right is alphabetical,
  not time;
- ``diff.svg``: the differential flame graph of after against before, drawn with
  after's widths and coloured by how much each frame's share of all samples changed:
  red grew, blue shrank, white stayed; both profiles are normalised to shares first,
  since the two took different numbers of samples.

The stacks come from a model of the service (the functions of service.py, the
libraries it calls), seeded, so each seed gets its own traffic and its own profile.
"""

import argparse
import hashlib
import html
import math
import random
from pathlib import Path

# (stack, cost per order in microseconds) as functions of an order's lines n, distinct
# SKUs d and promotions p, and the seed's per-worker constants c. "before" is the code
# as it was; "after" is Tuesday's deploy.
ROOT = "serve"
HANDLE = f"{ROOT};handle"
PRICE = f"{HANDLE};price_order"
COMPILE = "compile_promotions;Promotion.__init__"
# Frames the share question may ask about: they hold most of the samples between them.
SHARE_FRAMES = ("merge_lines", "price_order", "price_line", "render_invoice", "parse_order")
# How far the leading self-time frame and the leading growth stand above the next ones,
# in percentage points, in every seed's model.
TOP_GAP_PP = 1.5
GROWTH_GAP_PP = 3.0
SAMPLE_HZ = 99
WINDOW_S = 600


def order_costs(n, d, p, c, version):
    pairs = n * d / 2  # comparisons a list scan makes: each line against the SKUs so far
    costs = {
        f"{ROOT};read_request": 4 + 0.03 * n,
        f"{HANDLE};parse_order": 3,
        f"{HANDLE};parse_order;json.loads": c["loads"] * n,
        f"{HANDLE};authorise;hmac.new": 7,
        f"{HANDLE};authorise;hmac.compare_digest": 1,
        f"{HANDLE};merge_lines;Sku.__init__": c["sku"] * n,
        f"{PRICE};price_line": 0.45 * d,
        f"{PRICE};price_line;Promotion.applies": c["applies"] * d * p,
        f"{HANDLE};render_invoice": 0.4 * d,
        f"{HANDLE};render_invoice;format_money": c["money"] * d,
        f"{HANDLE};render_invoice;json.dumps": c["dumps"] * d,
        f"{ROOT};write_response": 2 + 0.02 * d,
    }
    if version == "before":
        costs[f"{HANDLE};merge_lines"] = 0.25 * n
        costs[f"{HANDLE};merge_lines;Sku.__hash__"] = 0.3 * n
        costs[f"{HANDLE};merge_lines;Sku.__eq__"] = 0.1 * (n - d)
        costs[f"{PRICE}"] = 0.15 * d
        costs[f"{PRICE};{COMPILE}"] = 0.3 * p
        costs[f"{PRICE};{COMPILE};re.compile"] = 0.9 * p
    else:
        costs[f"{HANDLE};merge_lines"] = 0.25 * n + c["scan"] * pairs
        costs[f"{HANDLE};merge_lines;Sku.__eq__"] = c["eq"] * pairs
        costs[f"{PRICE}"] = 0.15 * d
        # Tuesday's deploy: every line compiles every promotion, inside price_line.
        costs[f"{PRICE};price_line;{COMPILE}"] = c["promo"] * 0.3 * p * d
        costs[f"{PRICE};price_line;{COMPILE};re.compile"] = c["promo"] * 0.9 * p * d
    return costs


def traffic(seed, attempt):
    """The seed's orders (lines, distinct SKUs, promotions) and per-worker constants."""
    rng = random.Random(f"profile-traffic:{seed}:{attempt}")
    median = rng.uniform(60, 200)
    distinct = rng.uniform(0.55, 0.9)
    promotions = rng.randint(3, 10)
    constants = {
        "loads": rng.uniform(0.7, 1.5),
        "dumps": rng.uniform(0.8, 1.8),
        "money": rng.uniform(0.5, 0.9),
        "sku": rng.uniform(0.5, 0.9),
        "applies": rng.uniform(0.12, 0.22),
        "eq": rng.uniform(0.06, 0.1),
        "scan": rng.uniform(0.01, 0.02),
        "promo": rng.uniform(0.7, 1.3),
    }
    orders = []
    for _ in range(400):
        n = max(5, round(rng.lognormvariate(math.log(median), 0.45)))
        orders.append((n, max(1, round(n * distinct)), promotions))
    return orders, constants, rng


def stack_weights(orders, constants, version):
    weights = {}
    for n, d, p in orders:
        for stack, cost in order_costs(n, d, p, constants, version).items():
            weights[stack] = weights.get(stack, 0.0) + cost
    return weights


def sample(weights, count, rng):
    """``count`` samples drawn from the stacks in proportion to their weights."""
    stacks = sorted(weights)
    cumulative = []
    total = 0.0
    for stack in stacks:
        total += weights[stack]
        cumulative.append(total)
    counts = dict.fromkeys(stacks, 0)
    for stack in rng.choices(stacks, cum_weights=cumulative, k=count):
        counts[stack] += 1
    return {stack: value for stack, value in counts.items() if value}


def leaf_shares(weights):
    """Each function's share of the weight where it is the leaf (its self time), in %."""
    total = sum(weights.values())
    shares = {}
    for stack, weight in weights.items():
        leaf = stack.rpartition(";")[2]
        shares[leaf] = shares.get(leaf, 0.0) + 100 * weight / total
    return shares


def gap(values):
    """How far the largest value stands above the next one."""
    ordered = sorted(values, reverse=True)
    return ordered[0] - ordered[1]


def distinct_enough(before_weights, after_weights):
    """Whether the profiles' leading frames stand clear of the runners-up, so that the
    sampling noise (a few tenths of a percentage point) cannot swap them."""
    before, after = leaf_shares(before_weights), leaf_shares(after_weights)
    growth = [after.get(name, 0.0) - before.get(name, 0.0) for name in {*before, *after}]
    return gap(before.values()) >= TOP_GAP_PP and gap(growth) >= GROWTH_GAP_PP


def profiles(seed):
    """(before, after, share frame): two folded profiles as {stack: samples} for a seed."""
    for attempt in range(100):
        orders, constants, rng = traffic(seed, attempt)
        before_weights = stack_weights(orders, constants, "before")
        after_weights = stack_weights(orders, constants, "after")
        if distinct_enough(before_weights, after_weights):
            break
    # Ten minutes at 99 Hz on the busy workers; after the deploy they were busier.
    busy = rng.uniform(0.35, 0.55)
    before_count = round(SAMPLE_HZ * WINDOW_S * busy)
    after_count = round(before_count * sum(after_weights.values()) / sum(before_weights.values()))
    share_frame = rng.choice(SHARE_FRAMES)
    return (
        sample(before_weights, before_count, rng),
        sample(after_weights, after_count, rng),
        share_frame,
    )


def folded_text(counts):
    return "".join(f"{stack} {value}\n" for stack, value in sorted(counts.items()))


def parse_folded(text):
    """{stack: samples} from folded lines; the count is the last space-separated word."""
    counts = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        stack, _, value = line.rstrip().rpartition(" ")
        if not stack or not value.isdigit():
            raise ValueError(f"line {number} is not 'frame;frame;... count': {line[:80]!r}")
        counts[stack] = counts.get(stack, 0) + int(value)
    return counts


# -- drawing ---------------------------------------------------------------------------

WIDTH = 1200
FRAME_H = 16
PAD = 10
CHAR_W = 7
MIN_W = 0.1


class Node:
    __slots__ = ("name", "value", "children")

    def __init__(self, name):
        self.name = name
        self.value = 0
        self.children = {}


def tree(counts):
    root = Node("all")
    for stack, value in counts.items():
        root.value += value
        node = root
        for name in stack.split(";"):
            node = node.children.setdefault(name, Node(name))
            node.value += value
    return root


def depth(node):
    return 1 + max((depth(child) for child in node.children.values()), default=0)


def warm(name):
    """flamegraph.pl's "hot" palette, picked by a hash of the name so it never changes."""
    digest = hashlib.sha256(name.encode()).digest()
    return f"rgb({205 + digest[0] * 50 // 255},{digest[1] * 230 // 255},{digest[2] * 55 // 255})"


def diverging(delta, scale):
    """Red for a share that grew, blue for one that shrank, white for no change."""
    strength = 0 if scale == 0 else min(1.0, abs(delta) / scale)
    fade = round(255 * (1 - strength))
    return f"rgb(255,{fade},{fade})" if delta > 0 else f"rgb({fade},{fade},255)"


def svg(root, title, colour, note):
    """The flame graph of a tree: the root at the bottom, children on top, by name."""
    rows = depth(root)
    height = rows * FRAME_H + 3 * PAD + 20
    scale = (WIDTH - 2 * PAD) / max(1, root.value)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="12">',
        '<rect width="100%" height="100%" fill="#f8f8f8"/>',
        f'<text x="{WIDTH // 2}" y="{PAD + 12}" text-anchor="middle" font-size="15">'
        f"{html.escape(title)}</text>",
    ]

    def draw(node, x, level):
        w = node.value * scale
        if w < MIN_W:
            return
        y = height - PAD - (level + 1) * FRAME_H
        share = 100 * node.value / max(1, root.value)
        tip = f"{node.name} ({node.value:,} samples, {share:.2f}%{note(node)})"
        parts.append(
            f'<g><title>{html.escape(tip)}</title><rect x="{x:.2f}" y="{y}" width="{w:.2f}" '
            f'height="{FRAME_H - 1}" fill="{colour(node)}" rx="2"/>'
        )
        fits = int((w - 6) // CHAR_W)
        if fits >= 3:
            label = node.name if len(node.name) <= fits else node.name[: fits - 2] + ".."
            parts.append(f'<text x="{x + 3:.2f}" y="{y + 12}">{html.escape(label)}</text>')
        parts.append("</g>")
        for name in sorted(node.children):
            child = node.children[name]
            draw(child, x, level + 1)
            x += child.value * scale

    draw(root, PAD, 0)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def flame_svg(counts, title):
    return svg(tree(counts), title, lambda node: warm(node.name), lambda node: "")


def diff_svg(before, after, title):
    """after's flame graph, coloured by each frame's change in share of all samples."""
    old, new = tree(before), tree(after)

    def delta(path_node, path):
        node = old
        for name in path:
            node = node.children.get(name) if node else None
        old_share = (node.value / old.value) if node else 0.0
        return 100 * (path_node.value / new.value - old_share)

    deltas = {}

    def walk(node, path):
        deltas[id(node)] = delta(node, path)
        for name, child in node.children.items():
            walk(child, (*path, name))

    walk(new, ())
    scale = max((abs(value) for value in deltas.values()), default=0)
    return svg(
        new,
        title,
        lambda node: diverging(deltas[id(node)], scale),
        lambda node: f", {deltas[id(node)]:+.2f} pp",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int, help="write your seed's profiles")
    source.add_argument("--flame", metavar="FOLDED", help="draw the flame graph of a file")
    parser.add_argument("--out", default="profiles", help="the folder to write to")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.flame:
        counts = parse_folded(Path(args.flame).read_text())
        target = out / (Path(args.flame).stem + ".svg")
        target.write_text(flame_svg(counts, Path(args.flame).name))
        print(f"wrote {target}")
        return
    before, after, share_frame = profiles(args.seed)
    (out / "before.folded").write_text(folded_text(before))
    (out / "after.folded").write_text(folded_text(after))
    (out / "before.svg").write_text(flame_svg(before, f"before the deploy (seed {args.seed})"))
    (out / "after.svg").write_text(flame_svg(after, f"after the deploy (seed {args.seed})"))
    (out / "diff.svg").write_text(
        diff_svg(before, after, f"after against before (seed {args.seed}): red grew, blue shrank")
    )
    print(
        f"wrote {out}/before.folded ({sum(before.values()):,} samples), "
        f"{out}/after.folded ({sum(after.values()):,} samples), and before.svg, after.svg, "
        f"diff.svg"
    )
    print(f"the share question of part A is about the frame: {share_frame}")


if __name__ == "__main__":
    main()
