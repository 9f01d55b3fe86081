//! Given the events of a [`Story`], when an actor sends a command at the story's clock,
//! then an event or a refusal.

use cqrs_es::test::{AggregateResultValidator, TestFramework};
use workflow_core::complaint::command::ComplaintCommand;
use workflow_core::fixtures::{cmd, event, Story};
use workflow_core::{
    Actor, CommandEnvelope, Complaint, ComplaintEvent, ComplaintServices, DomainError, EventBody,
};

/// The events of `story`, as what is given. One `Given` serves several `when`s.
pub fn given(story: Story) -> Given {
    Given { story }
}

pub struct Given {
    story: Story,
}

impl Given {
    /// `actor` sends `command` at the story's clock, with the command id `c-1`.
    pub fn when(&self, actor: Actor, command: ComplaintCommand) -> When {
        When {
            story: self.story.clone(),
            id: "c-1".into(),
            actor,
            command,
        }
    }
}

pub struct When {
    story: Story,
    id: String,
    actor: Actor,
    command: ComplaintCommand,
}

impl When {
    /// The same command under another id (one the story has seen, say).
    pub fn with_id(self, id: &str) -> Self {
        Self {
            id: id.into(),
            ..self
        }
    }

    /// Exactly the event `body` is recorded, by the actor, at the story's clock. The
    /// verdicts on the clocks it ends are left aside: the SLA tests check them.
    #[track_caller]
    pub fn then(self, body: EventBody) {
        let events = Complaint::from_events(&self.story.events())
            .decide(&self.envelope(), &ComplaintServices::builtin())
            .unwrap_or_else(|e| panic!("refused: {e}"));
        let verdicts_aside: Vec<ComplaintEvent> = events
            .into_iter()
            .map(|mut e| {
                e.verdicts.clear();
                e
            })
            .collect();
        let now = self.story.now();
        assert_eq!(verdicts_aside, vec![event(&self.id, self.actor, now, body)]);
    }

    /// Exactly the event `body` is recorded, as [`When::then`], and with no verdict.
    pub fn then_exactly(self, body: EventBody) {
        let expected = event(&self.id, self.actor.clone(), self.story.now(), body);
        self.framework().then_expect_events(vec![expected]);
    }

    /// The command is accepted and records nothing.
    pub fn then_nothing(self) {
        self.framework().then_expect_events(vec![]);
    }

    /// The command is refused with `error`.
    pub fn refused(self, error: DomainError) {
        self.framework().then_expect_error(error);
    }

    /// What the aggregate answers, for a test that looks at it in its own way.
    pub fn result(self) -> Result<Vec<ComplaintEvent>, DomainError> {
        self.framework().inspect_result()
    }

    fn envelope(&self) -> CommandEnvelope {
        cmd(
            &self.id,
            self.actor.clone(),
            self.story.now(),
            self.command.clone(),
        )
    }

    /// Through cqrs-es's test framework, which sends the command to the aggregate's
    /// `handle` as a store does.
    fn framework(self) -> AggregateResultValidator<Complaint> {
        TestFramework::<Complaint>::with(ComplaintServices::builtin())
            .given(self.story.events())
            .when(self.envelope())
    }
}
