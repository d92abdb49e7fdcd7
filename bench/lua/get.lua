-- Plain GETs of one URL (the trivial endpoint, a board page); counts statuses.
function response(status, headers, body)
  count_status(status, body)
end
