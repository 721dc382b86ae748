//! Redis faults (Lab 4): when the harness kills a node of its managed
//! topology with SIGKILL during a job, which node (a [`KillTarget`],
//! resolved to node names at the time of each kill), and the schedule that
//! says when the next kill and the restart after it are due.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::progress::{JobProgress, Percent};
use super::time::{FaultClock, FaultTime};
pub(crate) use crate::servers::{NodeView, Role};

/// When to kill -9 a node of the managed topology during a `redis`-mode
/// job, and which node ([`KillTarget`]). A killed node is restarted after a
/// downtime on the same port and password: a single server from its last
/// snapshot (or empty, without snapshots), a replica empty (it resyncs), a
/// killed primary as a replica of the one Sentinel promoted.
///
/// Written `[TARGET:]WHEN`: `at:500` (the server / the primary, as before
/// targets existed), `replica:at:500`, `random-replica:every:1000`,
/// `replicas=2:at:500`, `any:every:2000`, `replica-2:at:300`; times follow
/// the job with a percentage of units acknowledged: `at:50%`,
/// `any:every:25%`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedisKill {
    /// Which node(s).
    pub target: KillTarget,
    /// When.
    pub when: KillWhen,
}

/// When a [`RedisKill`] happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum KillWhen {
    /// Never.
    #[default]
    Never,
    /// Right after the units are queued, before any worker starts (the
    /// bootstrap: with no snapshot yet, the queue itself is lost).
    AfterEnqueue,
    /// Once, this many milliseconds after the workers start.
    At(u64),
    /// Every this many milliseconds after the workers start, until they
    /// finish (at most [`MAX_PERIODIC_KILLS`] times unless the run has a
    /// deadline, which then bounds it instead).
    Every(u64),
    /// After every worker has exited, before the counts are read.
    BeforeRead,
    /// Once, when this share of the units is acknowledged (`at:50%`).
    AtProgress(Percent),
    /// Each time another multiple of this share of the units is
    /// acknowledged (`every:25%`: at 25%, 50% and 75%; at most
    /// [`MAX_PERIODIC_KILLS`] times unless the run has a deadline).
    EveryProgress(Percent),
}

impl KillWhen {
    /// The scheduled forms as the [`FaultTime`] every fault kind shares
    /// (`None`: never, after the enqueue, before the read).
    pub(crate) fn fault_time(self) -> Option<FaultTime> {
        match self {
            KillWhen::At(ms) => Some(FaultTime::At(ms)),
            KillWhen::Every(ms) => Some(FaultTime::Every(ms)),
            KillWhen::AtProgress(share) => Some(FaultTime::AtProgress(share)),
            KillWhen::EveryProgress(share) => Some(FaultTime::EveryProgress(share)),
            KillWhen::Never | KillWhen::AfterEnqueue | KillWhen::BeforeRead => None,
        }
    }

    /// True for the kills that follow the job's progress (`at:P%`, `every:P%`).
    #[cfg(test)]
    pub(crate) fn follows_progress(self) -> bool {
        self.fault_time().is_some_and(FaultTime::follows_progress)
    }

    /// Milliseconds after the workers start when the first kill is due,
    /// for the time-based forms (`at:MS`, `every:MS`).
    pub(crate) fn first_due_ms(self) -> Option<u64> {
        self.fault_time().and_then(FaultTime::first_due_ms)
    }

    /// True when a kill is planned at all (a schedule, or after the
    /// enqueue, or before the read).
    pub(crate) fn is_planned(self) -> bool {
        self != KillWhen::Never
    }
}

/// Which node(s) of the topology a [`RedisKill`] kills.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KillTarget {
    /// The server (single, snapshot) or the current primary (replicated;
    /// Sentinel fails over). Written without a prefix.
    #[default]
    Primary,
    /// One replica: the first node that is a replica at the time of the kill.
    Replica,
    /// A replica picked at random at each kill.
    RandomReplica,
    /// This many replicas at once (`replicas=2`: 2 of 3 nodes with f = 1).
    Replicas(u32),
    /// Any data node (primary or replica), picked at random at each kill.
    Any,
    /// The node with this name (`replica-2`, `sentinel-1`), whatever its role now.
    Node(String),
}

impl KillTarget {
    /// True when the target needs replicas (a topology without them cannot have it).
    pub(crate) fn needs_replicas(&self) -> bool {
        matches!(
            self,
            KillTarget::Replica | KillTarget::RandomReplica | KillTarget::Replicas(_)
        )
    }

    /// Whether the topology of `rules` with `f` failures tolerated has
    /// what this target kills; the message says what it has instead.
    pub(crate) fn fits(&self, rules: &dyn crate::servers::Rules, f: u32) -> Result<(), String> {
        let replicas = rules.replicas(f);
        let topology = rules.name();
        let nodes = rules.node_names(f);
        match self {
            KillTarget::Replicas(n) if *n > replicas => Err(format!(
                "kills {n} replicas but topology {topology} has {replicas}"
            )),
            _ if self.needs_replicas() && replicas == 0 => Err(format!(
                "targets {self}, but topology {topology} has no replicas: use topology replicated, or a plain kill such as at:MS"
            )),
            KillTarget::Node(name) if !nodes.contains(name) => Err(format!(
                "names node {name}, which topology {topology} does not have (its nodes: {})",
                if nodes.is_empty() {
                    "none the harness may kill".to_owned()
                } else {
                    nodes.join(", ")
                }
            )),
            _ => Ok(()),
        }
    }

    /// Picks the node names to kill now among `nodes` (the nodes that are
    /// up, with their roles); empty when none fits.
    pub(crate) fn pick<R: rand::Rng + ?Sized>(
        &self,
        nodes: &[NodeView],
        rng: &mut R,
    ) -> Vec<String> {
        use rand::seq::{IndexedRandom, SliceRandom};
        let replicas: Vec<String> = nodes
            .iter()
            .filter(|n| n.role == Role::Replica)
            .map(|n| n.name.clone())
            .collect();
        match self {
            KillTarget::Primary => nodes
                .iter()
                .filter(|n| n.role == Role::Primary)
                .map(|n| n.name.clone())
                .take(1)
                .collect(),
            KillTarget::Replica => replicas.into_iter().take(1).collect(),
            KillTarget::RandomReplica => replicas.choose(rng).cloned().into_iter().collect(),
            KillTarget::Replicas(count) => {
                let mut picked = replicas;
                picked.shuffle(rng);
                picked.truncate(*count as usize);
                picked.sort();
                picked
            }
            KillTarget::Any => {
                let data: Vec<String> = nodes
                    .iter()
                    .filter(|n| n.role != Role::Sentinel)
                    .map(|n| n.name.clone())
                    .collect();
                data.choose(rng).cloned().into_iter().collect()
            }
            KillTarget::Node(wanted) => nodes
                .iter()
                .filter(|n| &n.name == wanted)
                .map(|n| n.name.clone())
                .collect(),
        }
    }
}

impl RedisKill {
    /// No kill.
    pub(crate) const NEVER: RedisKill = RedisKill {
        target: KillTarget::Primary,
        when: KillWhen::Never,
    };

    /// The server / primary, `when`.
    pub(crate) fn primary(when: KillWhen) -> RedisKill {
        RedisKill {
            target: KillTarget::Primary,
            when,
        }
    }

    /// True when nothing is ever killed.
    pub(crate) fn is_never(&self) -> bool {
        self.when == KillWhen::Never
    }
}

impl serde::Serialize for RedisKill {
    /// Run keys: a kill of the server / primary serializes as before
    /// targets existed (`{"At":10}`), so recorded keys stay valid; one with
    /// another target as its text (`"replica:at:500"`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.target {
            KillTarget::Primary => self.when.serialize(serializer),
            _ => serializer.serialize_str(&self.to_string()),
        }
    }
}

/// The shortest period of `every:MS` (a restart itself takes a while).
pub(crate) const MIN_KILL_PERIOD_MS: u64 = 100;
/// Most kills of one `every:MS` schedule of a run without a deadline: a
/// period too short for any snapshot to land would otherwise roll the job
/// back forever. With `deadline_s` the kills go on until the deadline and
/// such a run is recorded as not finished.
pub(crate) const MAX_PERIODIC_KILLS: u64 = 10;

const USAGE: &str = "write [TARGET:]WHEN with WHEN none, after-enqueue, at:MS, every:MS, at:P% (when P% of the units are acknowledged), every:P% or before-read, and TARGET primary (the default), replica, random-replica, replicas=N, any or a node name such as replica-2, sentinel-1 or node-3 (e.g. every:1000, replica:at:500, replica:at:50%)";

impl FromStr for KillWhen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text.split_once(':') {
            None if text.is_empty() || text == "none" => Ok(KillWhen::Never),
            None if text == "after-enqueue" => Ok(KillWhen::AfterEnqueue),
            None if text == "before-read" => Ok(KillWhen::BeforeRead),
            Some(("at" | "every", _)) => {
                let time = text
                    .parse::<FaultTime>()
                    .map_err(|e| format!("redis kill {text:?}: {e}; {USAGE}"))?;
                if let FaultTime::Every(period) = time
                    && period < MIN_KILL_PERIOD_MS
                {
                    return Err(format!(
                        "redis kill {text:?}: the period must be at least {MIN_KILL_PERIOD_MS} ms"
                    ));
                }
                Ok(KillWhen::from(time))
            }
            _ => Err(format!("unknown redis kill {text:?}: {USAGE}")),
        }
    }
}

impl From<FaultTime> for KillWhen {
    fn from(time: FaultTime) -> KillWhen {
        match time {
            FaultTime::At(ms) => KillWhen::At(ms),
            FaultTime::Every(ms) => KillWhen::Every(ms),
            FaultTime::AtProgress(share) => KillWhen::AtProgress(share),
            FaultTime::EveryProgress(share) => KillWhen::EveryProgress(share),
        }
    }
}

impl FromStr for KillTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // A node name: lowercase letters, a dash, a number from 1
        // (`replica-2`, `sentinel-1`, `node-3`); whether the topology has
        // it is the topology's to say (`KillTarget::fits`).
        let node_name = text.rsplit_once('-').is_some_and(|(kind, n)| {
            !kind.is_empty()
                && kind.bytes().all(|b| b.is_ascii_lowercase())
                && n.parse::<u32>().is_ok_and(|n| n >= 1)
        });
        match text {
            "primary" => Ok(KillTarget::Primary),
            "replica" => Ok(KillTarget::Replica),
            "random-replica" => Ok(KillTarget::RandomReplica),
            "any" => Ok(KillTarget::Any),
            _ if text.starts_with("replicas=") => text["replicas=".len()..]
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .map(KillTarget::Replicas)
                .ok_or_else(|| format!("bad kill target {text:?}: write replicas=N with N >= 1")),
            _ if node_name => Ok(KillTarget::Node(text.to_owned())),
            _ => Err(format!(
                "unknown kill target {text:?}: use primary, replica, random-replica, replicas=N, any or a node name (replica-N, sentinel-N, node-N)"
            )),
        }
    }
}

impl FromStr for RedisKill {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(when) = text.parse::<KillWhen>() {
            return Ok(RedisKill::primary(when));
        }
        match text.split_once(':') {
            Some((target, when)) if !matches!(target, "at" | "every") => {
                let target = target
                    .parse::<KillTarget>()
                    .map_err(|e| format!("redis kill {text:?}: {e}"))?;
                let when = when.parse::<KillWhen>()?;
                Ok(RedisKill { target, when })
            }
            _ => text.parse::<KillWhen>().map(RedisKill::primary),
        }
    }
}

impl fmt::Display for KillWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillWhen::Never => write!(f, "none"),
            KillWhen::AfterEnqueue => write!(f, "after-enqueue"),
            KillWhen::At(ms) => write!(f, "at:{ms}"),
            KillWhen::Every(ms) => write!(f, "every:{ms}"),
            KillWhen::BeforeRead => write!(f, "before-read"),
            KillWhen::AtProgress(share) => write!(f, "at:{share}"),
            KillWhen::EveryProgress(share) => write!(f, "every:{share}"),
        }
    }
}

impl fmt::Display for KillTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillTarget::Primary => write!(f, "primary"),
            KillTarget::Replica => write!(f, "replica"),
            KillTarget::RandomReplica => write!(f, "random-replica"),
            KillTarget::Replicas(n) => write!(f, "replicas={n}"),
            KillTarget::Any => write!(f, "any"),
            KillTarget::Node(name) => write!(f, "{name}"),
        }
    }
}

impl fmt::Display for RedisKill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The target is always written (`primary:at:1000`, not `at:1000`):
        // a CSV value or a plot legend says which node the kill hit.
        match (&self.target, self.when) {
            (_, when @ KillWhen::Never) => write!(f, "{when}"),
            (target, when) => write!(f, "{target}:{when}"),
        }
    }
}

/// What the client should do to the server now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedisAction {
    /// Nothing.
    Wait,
    /// Kill it (SIGKILL).
    Kill,
    /// Start it again.
    Restart,
}

/// The kills of [`KillWhen::At`] / [`KillWhen::Every`] (and their
/// progress-relative forms) while the workers run, each followed by a
/// restart after `down`; when each is due is the [`FaultClock`]'s to say.
#[derive(Debug, Clone)]
pub(crate) struct KillSchedule {
    /// The scheduled kills (`None`: the plan schedules none while the workers run).
    clock: Option<FaultClock>,
    down: Duration,
    #[cfg_attr(not(test), allow(dead_code))]
    started: Instant,
    /// When the server went down, while it is down.
    down_since: Option<Instant>,
    kills: u64,
}

impl KillSchedule {
    /// A schedule that starts counting now (periodic kills capped at
    /// [`MAX_PERIODIC_KILLS`]).
    pub(crate) fn new(plan: KillWhen, down: Duration) -> KillSchedule {
        let started = Instant::now();
        KillSchedule {
            clock: plan.fault_time().map(|time| {
                FaultClock::starting_at(time, started).capped(Some(MAX_PERIODIC_KILLS))
            }),
            down,
            started,
            down_since: None,
            kills: 0,
        }
    }

    /// The same schedule with no limit on periodic kills (for runs that a
    /// deadline bounds).
    pub(crate) fn uncapped(mut self) -> KillSchedule {
        self.clock = self.clock.map(|clock| clock.capped(None));
        self
    }

    /// True when a periodic schedule stopped because it reached its cap.
    pub(crate) fn reached_cap(&self) -> bool {
        self.clock
            .as_ref()
            .is_some_and(|clock| clock.time().is_periodic() && clock.reached_cap())
    }

    /// True when the next kill waits on the job's progress: pass it to
    /// [`KillSchedule::due`] (read from Redis) while this holds.
    pub(crate) fn wants_progress(&self) -> bool {
        self.down_since.is_none() && self.clock.as_ref().is_some_and(FaultClock::wants_progress)
    }

    /// Kills so far.
    pub(crate) fn kills(&self) -> u64 {
        self.kills
    }

    /// What is due at `now`, with the job's `progress` when it is known
    /// (progress-relative kills wait while it is not). Call
    /// [`KillSchedule::killed`] / [`KillSchedule::restarted`] after doing it.
    pub(crate) fn due(&self, now: Instant, progress: Option<JobProgress>) -> RedisAction {
        if let Some(since) = self.down_since {
            return if now >= since + self.down {
                RedisAction::Restart
            } else {
                RedisAction::Wait
            };
        }
        match &self.clock {
            Some(clock) if clock.due(now, progress) => RedisAction::Kill,
            _ => RedisAction::Wait,
        }
    }

    /// Records a kill at `now`.
    pub(crate) fn killed(&mut self, now: Instant) {
        self.down_since = Some(now);
        self.kills += 1;
        if let Some(clock) = &mut self.clock {
            clock.fired();
        }
    }

    /// Records that the server is back.
    pub(crate) fn restarted(&mut self) {
        self.down_since = None;
    }

    /// True while the server is down on purpose.
    pub(crate) fn is_down(&self) -> bool {
        self.down_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_parse_and_print_back() {
        for text in [
            "none",
            "after-enqueue",
            "at:250",
            "every:1000",
            "before-read",
        ] {
            // The default target, the primary, is written out.
            let kill: RedisKill = text.parse().unwrap();
            let written = if text == "none" {
                text.to_owned()
            } else {
                format!("primary:{text}")
            };
            assert_eq!(kill.to_string(), written);
            assert_eq!(written.parse::<RedisKill>().unwrap(), kill);
        }
        assert_eq!("".parse::<RedisKill>().unwrap(), RedisKill::NEVER);
        for text in [
            "replica:at:500",
            "random-replica:every:1000",
            "replicas=2:at:500",
            "any:every:2000",
            "replica-2:before-read",
            "sentinel-1:at:10",
        ] {
            let kill: RedisKill = text.parse().unwrap();
            assert_eq!(kill.to_string(), text);
        }
        assert_eq!(
            "primary:at:800".parse::<RedisKill>().unwrap(),
            RedisKill::primary(KillWhen::At(800))
        );
        for bad in [
            "replicas=0:at:5",
            "leader:at:5",
            "replica:sometimes",
            "replica-x:at:1",
        ] {
            assert!(bad.parse::<RedisKill>().is_err(), "{bad}");
        }
        let key = |text: &str| serde_json::to_string(&text.parse::<RedisKill>().unwrap()).unwrap();
        assert_eq!(key("at:10"), r#"{"At":10}"#);
        assert_eq!(key("none"), r#""Never""#);
        assert_eq!(key("replica:at:10"), r#""replica:at:10""#);
        for bad in ["every:5", "at:x", "sometimes", "every"] {
            let err = bad.parse::<RedisKill>().unwrap_err();
            assert!(err.contains("redis kill"), "{err}");
        }
    }

    #[test]
    fn targets_pick_nodes_by_role() {
        let view = |name: &str, role| NodeView {
            name: name.into(),
            role,
        };
        let nodes = [
            view("primary", Role::Replica),
            view("replica-1", Role::Primary),
            view("replica-2", Role::Replica),
            view("sentinel-1", Role::Sentinel),
        ];
        let mut rng = rand::rng();
        assert_eq!(KillTarget::Primary.pick(&nodes, &mut rng), ["replica-1"]);
        assert_eq!(KillTarget::Replica.pick(&nodes, &mut rng), ["primary"]);
        assert_eq!(
            KillTarget::Replicas(2).pick(&nodes, &mut rng),
            ["primary", "replica-2"]
        );
        assert_ne!(KillTarget::Any.pick(&nodes, &mut rng), ["sentinel-1"]);
        assert_eq!(
            KillTarget::Node("sentinel-1".into()).pick(&nodes, &mut rng),
            ["sentinel-1"]
        );
    }

    #[test]
    fn a_schedule_alternates_kills_and_restarts() {
        let down = Duration::from_millis(50);
        let mut schedule = KillSchedule::new(KillWhen::Every(100), down);
        let t0 = schedule.started;
        assert_eq!(schedule.due(t0, None), RedisAction::Wait);
        let first = t0 + Duration::from_millis(100);
        assert_eq!(schedule.due(first, None), RedisAction::Kill);
        schedule.killed(first);
        assert!(schedule.is_down());
        assert_eq!(
            schedule.due(first + Duration::from_millis(10), None),
            RedisAction::Wait
        );
        assert_eq!(schedule.due(first + down, None), RedisAction::Restart);
        schedule.restarted();
        assert_eq!(
            schedule.due(t0 + Duration::from_millis(160), None),
            RedisAction::Wait
        );
        assert_eq!(
            schedule.due(t0 + Duration::from_millis(200), None),
            RedisAction::Kill
        );
        for _ in 1..MAX_PERIODIC_KILLS {
            schedule.killed(t0);
            schedule.restarted();
        }
        assert_eq!(
            schedule.due(t0 + Duration::from_secs(99), None),
            RedisAction::Wait
        );

        let mut once = KillSchedule::new(KillWhen::At(30), down);
        let t0 = once.started;
        assert_eq!(
            once.due(t0 + Duration::from_millis(30), None),
            RedisAction::Kill
        );
        once.killed(t0 + Duration::from_millis(30));
        once.restarted();
        assert_eq!(
            once.due(t0 + Duration::from_secs(9), None),
            RedisAction::Wait
        );
        let never = KillSchedule::new(KillWhen::BeforeRead, down);
        assert_eq!(
            never.due(never.started + Duration::from_secs(9), None),
            RedisAction::Wait
        );
    }

    #[test]
    fn progress_kills_follow_the_units_acknowledged() {
        for text in [
            "primary:at:50%",
            "primary:every:25%",
            "any:every:12.5%",
            "replica:at:0%",
        ] {
            let kill: RedisKill = text.parse().unwrap();
            assert_eq!(kill.to_string(), text);
            assert!(kill.when.follows_progress(), "{text}");
        }
        for bad in ["every:0%", "every:100%", "at:101%", "at:x%", "every:5.555%"] {
            assert!(bad.parse::<RedisKill>().is_err(), "{bad}");
        }
        let key = |text: &str| serde_json::to_string(&text.parse::<RedisKill>().unwrap()).unwrap();
        assert_eq!(key("at:50%"), r#"{"AtProgress":"50%"}"#);
        assert_eq!(key("at:1000"), r#"{"At":1000}"#);

        let down = Duration::from_millis(50);
        let at = |acked| Some(JobProgress { acked, total: 8 });
        let mut once = KillSchedule::new("at:50%".parse::<KillWhen>().unwrap(), down);
        let t0 = once.started;
        let late = t0 + Duration::from_secs(99);
        assert!(once.wants_progress());
        assert_eq!(once.due(late, None), RedisAction::Wait, "no progress known");
        assert_eq!(once.due(t0, at(3)), RedisAction::Wait);
        assert_eq!(once.due(t0, at(4)), RedisAction::Kill);
        once.killed(t0);
        assert!(!once.wants_progress());
        once.restarted();
        assert_eq!(once.due(late, at(8)), RedisAction::Wait, "only once");

        let mut every = KillSchedule::new("every:25%".parse::<KillWhen>().unwrap(), down);
        let mut kills_at = Vec::new();
        for acked in [0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8] {
            if every.due(t0, at(acked)) == RedisAction::Kill {
                kills_at.push(acked);
                every.killed(t0);
                every.restarted();
            }
        }
        // 25%, 50% (after a rollback to 2 units), 75%; never at 100%.
        assert_eq!(kills_at, [2, 4, 6]);
        assert!(!every.wants_progress());
    }
}
