-- learning_experiences also holds agentic-qe 3.x captured_experiences and AgentDB reflexion
-- episodes: the task in words, its domain, what came of it, its quality and its time span.

ALTER TABLE aqe.learning_experiences
  ADD COLUMN task text,
  ADD COLUMN domain text,
  ADD COLUMN outcome text,
  ADD COLUMN quality double precision,
  ADD COLUMN started_at timestamptz,
  ADD COLUMN ended_at timestamptz;
