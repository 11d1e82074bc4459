# real-windows.ps1 - what only a real Windows machine can verify: Volume Shadow Copy.
#
# This project's CI has no Windows machine; wine has no VSS. Run this on Windows 10/11 or
# Server 2016+, from an elevated PowerShell, with umbra.exe built by tests/windows/build.sh:
#
#   powershell -ExecutionPolicy Bypass -File real-windows.ps1 -Umbra C:\path\umbra.exe
#
# It checks: a file held open exclusively by another process is backed up through a shadow
# copy (--open-files required), the snapshot records `vss` and `volume-snapshot`, the
# restore is byte-identical, the VSS writers' states are read, and no shadow copy is left
# behind (vssadmin), also after Ctrl-C (a killed umbra's set is deleted by the next run).
param([Parameter(Mandatory = $true)][string]$Umbra)
$ErrorActionPreference = "Stop"
function Fail($why) { Write-Error "real-windows: $why"; exit 1 }

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) { Fail "run elevated" }

$T = Join-Path $env:TEMP ("umbra-real-" + [guid]::NewGuid().ToString("N").Substring(0, 8))
New-Item -ItemType Directory -Path "$T\data", "$T\state" | Out-Null
$bytes = New-Object byte[] (8MB); (New-Object Random 7).NextBytes($bytes)
[IO.File]::WriteAllBytes("$T\data\held.bin", $bytes)
Set-Content -Path "$T\password" -Value "correct horse battery staple"
$env:UMBRA_REPOSITORY = "$T\repo"; $env:UMBRA_PASSWORD_FILE = "$T\password"; $env:UMBRA_STATE_DIR = "$T\state"

$before = (vssadmin list shadows 2>$null | Select-String "Shadow Copy ID").Count
& $Umbra init; if ($LASTEXITCODE -ne 0) { Fail "init" }

# Another process holds the file open with no sharing at all.
$held = [IO.File]::Open("$T\data\held.bin", "Open", "ReadWrite", "None")
try {
  & $Umbra backup --open-files required "$T\data"; if ($LASTEXITCODE -ne 0) { Fail "backup through VSS" }
  # Without shadow copies the same file is a sharing violation: named, exit code 3.
  & $Umbra backup --open-files off "$T\data"; if ($LASTEXITCODE -ne 3) { Fail "a held file read directly should exit 3, got $LASTEXITCODE" }
} finally { $held.Close() }

$snaps = & $Umbra snapshots --json | ConvertFrom-Json
$text = $snaps[0] | ConvertTo-Json -Depth 20
if ($text -notmatch '"vss"' -or $text -notmatch 'volume-snapshot') { Fail "the first snapshot does not record vss/volume-snapshot: $text" }

& $Umbra restore $snaps[0].id --target "$T\restored"; if ($LASTEXITCODE -ne 0) { Fail "restore" }
$restored = Get-ChildItem -Recurse -Filter held.bin "$T\restored" | Select-Object -First 1
if ((Get-FileHash $restored.FullName).Hash -ne (Get-FileHash "$T\data\held.bin").Hash) { Fail "restore differs" }

# Ctrl-C in the middle: the next run deletes the set the killed one left.
$p = Start-Process -FilePath $Umbra -ArgumentList @("backup", "--open-files", "required", "$T\data") -PassThru
Start-Sleep -Milliseconds 1500; Stop-Process -Id $p.Id -Force
& $Umbra cleanup | Out-Host
$after = (vssadmin list shadows 2>$null | Select-String "Shadow Copy ID").Count
if ($after -ne $before) { Fail "shadow copies before: $before, after: $after (one was left behind)" }

Remove-Item -Recurse -Force $T
Write-Output "real-windows: VSS backup of a held file, restore, and release verified"
