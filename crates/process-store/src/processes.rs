//! Process rows: create, read, list, transitions (as compare-and-set) and delete.

use std::collections::HashMap;

use diesel::prelude::*;
use process_core::output::dependency_deleted;
use process_core::{
    EventKind, ListScope, NewProcess, OutputLine, OutputLog, Page, Process, ProcessFile, ProcessId,
    ProcessQuery, ProcessStatus, SortDir, SortField, Transition,
};

use crate::connection::{dispatch, write_transaction, AnyConnection, MultiBackend};
use crate::error::StoreError;
use crate::events;
use crate::files::NewFile;
use crate::rows::{FileRow, ParamRow, ProcessRow};
use crate::schema::process_status_counts as c;
use crate::schema::{
    output_lines, process_dependencies as pd, process_files, process_parameters as pp,
    processes as p,
};
use crate::timestamp::{from_micros, to_micros};
use crate::Store;

#[derive(Insertable)]
#[diesel(table_name = p)]
struct NewProcessRow<'a> {
    user_id: Option<String>,
    script_name: &'a str,
    status: &'a str,
    creation_time: i64,
    not_before: Option<i64>,
    dependency_type: &'a str,
    access_hash: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = pp)]
struct NewParamRow<'a> {
    process_id: i64,
    position: i32,
    name: &'a str,
    value: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = pd)]
struct NewDependencyRow {
    process_id: i64,
    depends_on: i64,
}

type BoxedProcesses = p::BoxedQuery<'static, MultiBackend>;

/// Characters of a parameter value that `process_parameters_lookup` indexes.
const VALUE_PREFIX_CHARS: usize = 200;

diesel::define_sql_function! {
    /// SQL's `substr(text, start, length)`, in characters on both backends.
    fn substr(x: diesel::sql_types::Text, start: diesel::sql_types::Integer, len: diesel::sql_types::Integer) -> diesel::sql_types::Text;
}

fn filtered(q: &ProcessQuery) -> BoxedProcesses {
    let mut query = p::table.into_boxed();
    if let ListScope::OwnedBy(owner) = q.scope {
        query = query.filter(p::user_id.eq(owner.to_string()));
    }
    if let Some(script) = &q.script {
        query = query.filter(p::script_name.eq(script.as_str().to_owned()));
    }
    if let Some(user) = q.user {
        query = query.filter(p::user_id.eq(user.to_string()));
    }
    if let Some(status) = q.status {
        query = query.filter(p::status.eq(status.as_str()));
    }
    for param in &q.parameters {
        // The prefix matches the expression index (see the migration that made it); the whole
        // value decides.
        let prefix: String = param.value.chars().take(VALUE_PREFIX_CHARS).collect();
        query = query.filter(
            p::id.eq_any(
                pp::table
                    .select(pp::process_id)
                    .filter(pp::name.eq_any(param.names.clone()))
                    .filter(substr(pp::value, 1, VALUE_PREFIX_CHARS as i32).eq(prefix))
                    .filter(pp::value.eq(param.value.clone())),
            ),
        );
    }
    query
}

/// Orders a listing; NULL times sort last in both directions on both backends, and the id
/// breaks ties so pages never overlap.
fn sorted(query: BoxedProcesses, q: &ProcessQuery) -> BoxedProcesses {
    use SortDir::{Asc, Desc};
    match (q.sort.field, q.sort.dir) {
        (SortField::CreationTime, Asc) => query.order((p::creation_time.asc(), p::id.asc())),
        (SortField::CreationTime, Desc) => query.order((p::creation_time.desc(), p::id.desc())),
        (SortField::StartTime, Asc) => {
            query.order((p::start_time.is_null(), p::start_time.asc(), p::id.asc()))
        }
        (SortField::StartTime, Desc) => {
            query.order((p::start_time.is_null(), p::start_time.desc(), p::id.desc()))
        }
        (SortField::EndTime, Asc) => {
            query.order((p::end_time.is_null(), p::end_time.asc(), p::id.asc()))
        }
        (SortField::EndTime, Desc) => {
            query.order((p::end_time.is_null(), p::end_time.desc(), p::id.desc()))
        }
        (SortField::ScriptName, Asc) => query.order((p::script_name.asc(), p::id.asc())),
        (SortField::ScriptName, Desc) => query.order((p::script_name.desc(), p::id.desc())),
    }
}

/// The total of a listing filtered at most by status, from the counts the triggers keep
/// (`process_status_counts`); `None` when other filters need a real count.
fn counted_total(conn: &mut AnyConnection, q: &ProcessQuery) -> Result<Option<i64>, StoreError> {
    let simple = q.scope == ListScope::All
        && q.script.is_none()
        && q.user.is_none()
        && q.parameters.is_empty();
    if !simple {
        return Ok(None);
    }
    let counts: Vec<(String, i64)> = c::table.select((c::status, c::n)).load(conn)?;
    Ok(Some(match q.status {
        Some(status) => counts
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n),
        None => counts.iter().map(|(_, n)| n).sum(),
    }))
}

/// Loads parameters and dependencies for a batch of rows, keeping their order.
pub(crate) fn hydrate(
    conn: &mut AnyConnection,
    rows: Vec<ProcessRow>,
) -> Result<Vec<Process>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut params: HashMap<i64, Vec<ParamRow>> = HashMap::new();
    for row in pp::table
        .filter(pp::process_id.eq_any(&ids))
        .order((pp::process_id, pp::position))
        .select((pp::process_id, pp::name, pp::value))
        .load::<ParamRow>(conn)?
    {
        params.entry(row.process_id).or_default().push(row);
    }
    let mut deps: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, dep) in pd::table
        .filter(pd::process_id.eq_any(&ids))
        .order((pd::process_id, pd::depends_on))
        .select((pd::process_id, pd::depends_on))
        .load::<(i64, i64)>(conn)?
    {
        deps.entry(id).or_default().push(dep);
    }
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            let mut process = row.into_process()?;
            process.parameters = params
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(ParamRow::into_param)
                .collect();
            process.depends_on = deps
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(ProcessId::new)
                .collect::<Result<_, _>>()?;
            Ok(process)
        })
        .collect()
}

/// The processes of `ids` that exist, in id order.
pub(crate) fn load_all(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<Process>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = p::table
        .filter(p::id.eq_any(ids))
        .order(p::id)
        .select(ProcessRow::as_select())
        .load(conn)?;
    hydrate(conn, rows)
}

pub(crate) fn load(conn: &mut AnyConnection, id: ProcessId) -> Result<Option<Process>, StoreError> {
    let rows = p::table
        .filter(p::id.eq(id.get()))
        .select(ProcessRow::as_select())
        .load(conn)?;
    Ok(hydrate(conn, rows)?.pop())
}

/// Inserts a SCHEDULED process with its parameters, dependencies and input files, and its
/// `process.created` event, inside the caller's transaction (a launch that consumes an upload
/// session adds to the same one); returns it as stored.
pub(crate) fn insert_process(
    conn: &mut AnyConnection,
    new: &NewProcess,
    inputs: &[NewFile],
) -> Result<Process, StoreError> {
    let row = NewProcessRow {
        user_id: new.owner.map(|u| u.to_string()),
        script_name: new.script.as_str(),
        status: ProcessStatus::Scheduled.as_str(),
        creation_time: to_micros(new.creation_time),
        not_before: new.not_before.map(to_micros),
        dependency_type: new.dependency_type.as_str(),
        access_hash: new.access_hash.as_deref(),
    };
    let id: i64 = dispatch!(conn, |c| diesel::insert_into(p::table)
        .values(&row)
        .returning(p::id)
        .get_result(c)?);
    let params: Vec<NewParamRow> = new
        .parameters
        .iter()
        .enumerate()
        .map(|(i, param)| NewParamRow {
            process_id: id,
            position: i32::try_from(i).unwrap_or(i32::MAX),
            name: &param.name,
            value: &param.value,
        })
        .collect();
    if !params.is_empty() {
        dispatch!(conn, |c| diesel::insert_into(pp::table)
            .values(&params)
            .execute(c)?);
    }
    let deps: Vec<NewDependencyRow> = new
        .depends_on
        .iter()
        .map(|d| NewDependencyRow {
            process_id: id,
            depends_on: d.get(),
        })
        .collect();
    if !deps.is_empty() {
        dispatch!(conn, |c| diesel::insert_into(pd::table)
            .values(&deps)
            .execute(c)?);
    }
    let pid = ProcessId::new(id)?;
    let files: Vec<FileRow> = inputs
        .iter()
        .map(|f| FileRow::from_file(&f.for_process(pid)))
        .collect();
    if !files.is_empty() {
        dispatch!(conn, |c| diesel::insert_into(process_files::table)
            .values(&files)
            .execute(c)?);
    }
    let created = as_stored(pid, new);
    events::record(
        conn,
        EventKind::Created,
        new.creation_time,
        std::slice::from_ref(&created),
    )?;
    Ok(created)
}

/// The process just inserted from `new`, as a load would return it (times at the
/// microseconds they are stored with), without reading it back.
fn as_stored(id: ProcessId, new: &NewProcess) -> Process {
    let mut p = Process::stored(
        id,
        new.owner,
        new.script.clone(),
        ProcessStatus::Scheduled,
        from_micros(to_micros(new.creation_time)),
    );
    p.parameters.clone_from(&new.parameters);
    p.not_before = new.not_before.map(|t| from_micros(to_micros(t)));
    let mut depends_on = new.depends_on.clone();
    // Loads list dependencies in id order.
    depends_on.sort_unstable();
    depends_on.dedup();
    p.depends_on = depends_on;
    p.dependency_type = new.dependency_type;
    p.access_hash.clone_from(&new.access_hash);
    p
}

/// Applies `t` to those of `ids` whose status allows it (the compare-and-set every status
/// change goes through); returns how many changed.
pub(crate) fn apply(
    conn: &mut AnyConnection,
    ids: &[i64],
    t: &Transition,
) -> Result<usize, StoreError> {
    let sources: Vec<&'static str> = t.sources().iter().map(|s| s.as_str()).collect();
    let target = p::table
        .filter(p::id.eq_any(ids))
        .filter(p::status.eq_any(sources));
    let status = t.target().as_str();
    Ok(match t {
        Transition::Start {
            at,
            executor_job_id,
        } => diesel::update(target)
            .set((
                p::status.eq(status),
                p::start_time.eq(Some(to_micros(*at))),
                p::executor_job_id.eq(executor_job_id.clone()),
            ))
            .execute(conn)?,
        Transition::Complete { at } => diesel::update(target)
            .set((
                p::status.eq(status),
                p::end_time.eq(Some(to_micros(*at))),
                p::exit_code.eq(Some(0)),
                p::percent_complete.eq(Some(100)),
            ))
            .execute(conn)?,
        Transition::Cancel { at } => diesel::update(target)
            .set((
                p::status.eq(status),
                p::end_time.eq(Some(to_micros(*at))),
                p::status_reason.eq(Some(process_core::StatusReason::Stopped.as_str())),
            ))
            .execute(conn)?,
        Transition::Fail {
            at,
            reason,
            exit_code,
        } => diesel::update(target)
            .set((
                p::status.eq(status),
                p::end_time.eq(Some(to_micros(*at))),
                p::status_reason.eq(Some(reason.as_str())),
                p::exit_code.eq(*exit_code),
            ))
            .execute(conn)?,
    })
}

/// What deleting a process removed, so its files can be removed from disk.
#[derive(Debug)]
pub struct Deleted {
    pub process: Process,
    pub files: Vec<ProcessFile>,
    /// SCHEDULED processes that waited on it and are now FAILED `dependency`.
    pub failed_waiters: Vec<ProcessId>,
}

impl Deleted {
    /// What every delete does after its rows are gone, through the output-log port: removes the
    /// process's console log and tells each waiter it failed why it did not run.
    pub fn settle<L: OutputLog + ?Sized>(
        &self,
        log: &L,
        at: time::OffsetDateTime,
    ) -> Result<(), L::Error> {
        let id = self.process.id;
        log.remove_output(id)?;
        for waiter in &self.failed_waiters {
            let seq = log.last_output_seq(*waiter)? + 1;
            let line = OutputLine::service(seq, at, &dependency_deleted(id));
            log.append_output(*waiter, &[line])?;
        }
        Ok(())
    }
}

/// What a delete does to SCHEDULED processes waiting on the deleted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiters {
    /// The delete is refused (`StoreError::Depended`).
    Refuse,
    /// They fail (`dependency`) at this time, in the same transaction: a waiter with a far
    /// start time cannot pin what it waits on.
    Fail(time::OffsetDateTime),
}

impl Store {
    /// Stores a new SCHEDULED process with its parameters, dependencies and uploaded input
    /// files, all in one transaction.
    pub fn create_process(
        &self,
        new: &NewProcess,
        inputs: &[NewFile],
    ) -> Result<Process, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| insert_process(conn, new, inputs))
    }

    /// Finished processes that ended before `cutoff`, with ids above `after`, in id order
    /// (for retention). Processes whose end was never recorded are judged by their creation
    /// time.
    pub fn finished_before(
        &self,
        cutoff: time::OffsetDateTime,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ProcessId>, StoreError> {
        let cutoff = to_micros(cutoff);
        let ids: Vec<i64> = p::table
            .filter(p::id.gt(after))
            .filter(p::status.eq_any([
                ProcessStatus::Completed.as_str(),
                ProcessStatus::Failed.as_str(),
            ]))
            .filter(
                p::end_time
                    .lt(cutoff)
                    .or(p::end_time.is_null().and(p::creation_time.lt(cutoff))),
            )
            .order(p::id)
            .limit(i64::from(limit))
            .select(p::id)
            .load(&mut *self.conn()?)?;
        ids.into_iter()
            .map(|i| ProcessId::new(i).map_err(Into::into))
            .collect()
    }

    /// How many processes there are in each status.
    pub fn count_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(c::table
            .select((c::status, c::n))
            .load::<(String, i64)>(&mut *self.conn()?)?)
    }

    pub fn get_process(&self, id: ProcessId) -> Result<Option<Process>, StoreError> {
        load(&mut *self.conn()?, id)
    }

    /// Several processes at once (missing ids are left out).
    pub fn get_processes(&self, ids: &[ProcessId]) -> Result<Vec<Process>, StoreError> {
        let mut conn = self.conn()?;
        let raw: Vec<i64> = ids.iter().map(|i| i.get()).collect();
        let rows = p::table
            .filter(p::id.eq_any(raw))
            .order(p::id)
            .select(ProcessRow::as_select())
            .load(&mut *conn)?;
        hydrate(&mut conn, rows)
    }

    pub fn list_processes(&self, q: &ProcessQuery) -> Result<Page<Process>, StoreError> {
        let mut conn = self.conn()?;
        let total = match counted_total(&mut conn, q)? {
            Some(n) => n,
            None => filtered(q).count().get_result(&mut *conn)?,
        };
        let rows = sorted(filtered(q), q)
            .limit(i64::from(q.page.size()))
            .offset(i64::try_from(q.page.offset()).unwrap_or(i64::MAX))
            .select(ProcessRow::as_select())
            .load(&mut *conn)?;
        Ok(Page {
            items: hydrate(&mut conn, rows)?,
            total: u64::try_from(total).unwrap_or(0),
            request: q.page,
        })
    }

    /// Applies a transition as a compare-and-set on the status; `None` when the process is
    /// gone or no longer in a status the transition allows.
    pub fn transition(&self, id: ProcessId, t: &Transition) -> Result<Option<Process>, StoreError> {
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            if apply(conn, &[id.get()], t)? == 0 {
                return Ok(None);
            }
            let process = load(conn, id)?;
            if let Some(p) = &process {
                events::record(conn, EventKind::of(t), t.at(), std::slice::from_ref(p))?;
            }
            Ok(process)
        })
    }

    /// Deletes a process with its output, files and parameters. Refused while it is RUNNING;
    /// `waiters` says what happens to SCHEDULED processes waiting on it. Returns `None` if it
    /// did not exist.
    pub fn delete_process(
        &self,
        id: ProcessId,
        waiters: Waiters,
    ) -> Result<Option<Deleted>, StoreError> {
        let mut conn = self.conn()?;
        let deleted = write_transaction(&mut conn, |conn| {
            let Some(process) = load(conn, id)? else {
                return Ok(None);
            };
            if process.status() == ProcessStatus::Running {
                return Err(StoreError::Running(id.get()));
            }
            let waiting: Vec<i64> = pd::table
                .inner_join(p::table.on(p::id.eq(pd::process_id)))
                .filter(pd::depends_on.eq(id.get()))
                .filter(p::status.eq(ProcessStatus::Scheduled.as_str()))
                .select(pd::process_id)
                .order(pd::process_id)
                .load(conn)?;
            let failed_waiters = match (waiters, waiting.first()) {
                (_, None) => Vec::new(),
                (Waiters::Refuse, Some(waiter)) => {
                    return Err(StoreError::Depended(id.get(), *waiter))
                }
                (Waiters::Fail(at), Some(_)) => {
                    let fail = Transition::Fail {
                        at,
                        reason: process_core::StatusReason::Dependency,
                        exit_code: None,
                    };
                    apply(conn, &waiting, &fail)?;
                    waiting
                        .iter()
                        .map(|w| ProcessId::new(*w))
                        .collect::<Result<_, _>>()?
                }
            };
            let files = process_files::table
                .filter(process_files::process_id.eq(id.get()))
                .select(FileRow::as_select())
                .load(conn)?
                .into_iter()
                .map(FileRow::into_file)
                .collect::<Result<Vec<_>, _>>()?;
            // Finished dependents keep running fine without the edge.
            diesel::delete(pd::table.filter(pd::depends_on.eq(id.get()))).execute(conn)?;
            diesel::delete(output_lines::table.filter(output_lines::process_id.eq(id.get())))
                .execute(conn)?;
            // Conditional on the status read above: on PostgreSQL a scheduler may claim the
            // process between that read and here, and a RUNNING process is never deleted.
            let gone = diesel::delete(
                p::table
                    .filter(p::id.eq(id.get()))
                    .filter(p::status.eq(process.status().as_str())),
            )
            .execute(conn)?;
            if gone == 0 {
                return Err(StoreError::Running(id.get()));
            }
            // Events last (see `events::record`): the waiters' failures, then the deletion.
            let at = match waiters {
                Waiters::Fail(at) => at,
                Waiters::Refuse => time::OffsetDateTime::now_utc(),
            };
            let waiter_ids: Vec<i64> = failed_waiters.iter().map(|w| w.get()).collect();
            let failed = load_all(conn, &waiter_ids)?;
            events::record(conn, EventKind::Failed, at, &failed)?;
            events::record(conn, EventKind::Deleted, at, std::slice::from_ref(&process))?;
            Ok(Some(Deleted {
                process,
                files,
                failed_waiters,
            }))
        })?;
        if let Some(d) = &deleted {
            self.layout().remove_process_files(d.process.id, &d.files);
        }
        Ok(deleted)
    }

    pub fn set_executor_job_id(&self, id: ProcessId, job: &str) -> Result<(), StoreError> {
        diesel::update(p::table.filter(p::id.eq(id.get())))
            .set(p::executor_job_id.eq(Some(job)))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// Records a RUNNING process's progress, with a `process.progress` event when it changed.
    pub fn set_progress(&self, id: ProcessId, percent: u8) -> Result<(), StoreError> {
        let percent = i32::from(percent);
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let changed = diesel::update(
                p::table
                    .filter(p::id.eq(id.get()))
                    .filter(p::status.eq(ProcessStatus::Running.as_str()))
                    .filter(
                        p::percent_complete
                            .is_null()
                            .or(p::percent_complete.ne(percent)),
                    ),
            )
            .set(p::percent_complete.eq(Some(percent)))
            .execute(conn)?;
            if changed > 0 {
                if let Some(process) = load(conn, id)? {
                    let now = time::OffsetDateTime::now_utc();
                    events::record(conn, EventKind::Progress, now, &[process])?;
                }
            }
            Ok(())
        })
    }

    pub fn set_output_truncated(&self, id: ProcessId) -> Result<(), StoreError> {
        diesel::update(p::table.filter(p::id.eq(id.get())))
            .set(p::output_truncated.eq(true))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }
}
